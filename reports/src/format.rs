//! Numbers as tables and reports print them.

/// `12,345,678`.
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
}
