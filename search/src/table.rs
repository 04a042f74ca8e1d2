//! Plain-text tables for the terminal, and the number formats they use.

/// A table whose columns are sized to their widest cell. Columns of numbers (every
/// cell starts with a digit) are right-aligned, text columns left-aligned.
pub struct Table {
    header: Vec<String>,
    rows: Vec<Vec<String>>,
}

impl Table {
    pub fn new<S: ToString>(header: &[S]) -> Table {
        Table {
            header: header.iter().map(|h| h.to_string()).collect(),
            rows: Vec::new(),
        }
    }

    pub fn row<S: ToString>(&mut self, cells: &[S]) {
        self.rows
            .push(cells.iter().map(|c| c.to_string()).collect());
    }

    pub fn render(&self) -> String {
        let columns = self.header.len();
        let mut widths: Vec<usize> = self.header.iter().map(|h| h.chars().count()).collect();
        for row in &self.rows {
            for (i, cell) in row.iter().enumerate().take(columns) {
                widths[i] = widths[i].max(cell.chars().count());
            }
        }
        let numeric: Vec<bool> = (0..columns)
            .map(|i| {
                self.rows.iter().all(|row| {
                    row.get(i)
                        .and_then(|c| c.chars().next())
                        .is_none_or(|c| c.is_ascii_digit() || c == '-')
                })
            })
            .collect();
        let line = |cells: &[String]| {
            let padded: Vec<String> = (0..columns)
                .map(|i| {
                    let cell = cells.get(i).map_or("", String::as_str);
                    if numeric[i] {
                        format!("{cell:>w$}", w = widths[i])
                    } else {
                        format!("{cell:<w$}", w = widths[i])
                    }
                })
                .collect();
            padded.join("  ").trim_end().to_string()
        };
        let mut out = line(&self.header);
        out.push('\n');
        out.push_str(&"-".repeat(widths.iter().sum::<usize>() + 2 * (columns - 1)));
        for row in &self.rows {
            out.push('\n');
            out.push_str(&line(row));
        }
        out.push('\n');
        out
    }
}

/// 21458488 → "21,458,488".
pub fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// A count with an SI suffix: 8365617152 → "8.366 G".
pub fn si(n: u64) -> String {
    let x = n as f64;
    match n {
        0..1_000 => format!("{n}"),
        1_000..1_000_000 => format!("{:.3} K", x / 1e3),
        1_000_000..1_000_000_000 => format!("{:.3} M", x / 1e6),
        _ => format!("{:.3} G", x / 1e9),
    }
}

/// Bytes in binary units: 1610612736 → "1.50 GiB".
pub fn bytes(n: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut value = n as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{n} B")
    } else {
        format!("{value:.2} {}", UNITS[unit])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_numbers() {
        assert_eq!(thousands(21_458_488), "21,458,488");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1_000), "1,000");
        assert_eq!(si(8_365_617_152), "8.366 G");
        assert_eq!(si(718_000), "718.000 K");
        assert_eq!(bytes(1_610_612_736), "1.50 GiB");
        assert_eq!(bytes(10), "10 B");
    }

    #[test]
    fn aligns_columns() {
        let mut t = Table::new(&["a", "name", "n"]);
        t.row(&["x", "long name", "1"]);
        t.row(&["yy", "n", "1000"]);
        let text = t.render();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], "a   name          n");
        assert_eq!(lines[2], "x   long name     1");
        assert_eq!(lines[3], "yy  n          1000");
        assert_eq!(lines.len(), 4);
    }
}
