//! The report of a proxy check: for each proxy, how well its accuracies rank the
//! networks the way the target's do (Kendall τ and Spearman ρ with bootstrap 90%
//! intervals, the top 3 in common), what the search's reward would rank (the
//! proxy's and the target's accuracy, each with the same step time and
//! parameters), and what the proxy costs; a scatter plot per proxy; and every
//! network with its accuracies.

use std::path::{Path, PathBuf};

use records::{CheckedNetwork, Reward, SettingRun};
use serde_json::Value;

use crate::ReportError;
use crate::cells::{ms, pct, run_name, saved};
use crate::document::Document;
use crate::format::{si, thousands};
use crate::plots::{self, ProxyScatter};
use crate::ranks::{bootstrap_interval, kendall_tau, spearman, top_overlap};
use crate::run::ProxyCheckRun;

/// Bootstrap resamples and level of the intervals.
const RESAMPLES: usize = 2000;
const LEVEL: f64 = 0.9;

/// How one proxy ranks the networks against the target.
#[derive(Clone, Debug, PartialEq)]
pub struct ProxySummary {
    pub setting: String,
    pub description: String,
    /// The description without the seed salt: proxies with the same recipe are
    /// one proxy trained under different seeds.
    pub recipe: String,
    /// Networks with an accuracy under both the proxy and the target…
    pub networks: usize,
    /// …of the check's networks.
    pub of: usize,
    pub tau: f64,
    pub tau_interval: (f64, f64),
    pub spearman: f64,
    pub spearman_interval: (f64, f64),
    /// Of the target's 3 best networks (all, if fewer), how many are the proxy's 3
    /// best.
    pub top3: usize,
    /// τ of the search's reward computed from the proxy's accuracy against the
    /// same reward from the target's.
    pub reward_tau: f64,
    /// Mean seconds of one network's proxy training (over the networks ranked).
    pub seconds: f64,
    /// The proxy's compute (forward MACs of its trainings) over the target's, on the
    /// same networks: its cost whatever else ran on the machine.
    pub compute_share: f64,
}

/// `fashion-mnist (all images), 2 epochs of batch 64 at 32 px, strides adapted` (and
/// `, seed salt 7` for a salted one), from a setting in the plan.
fn describe(setting: &Value) -> String {
    match setting["seed"].as_u64() {
        Some(salt) if salt != 0 => format!("{}, seed salt {salt}", recipe(setting)),
        _ => recipe(setting),
    }
}

/// [`describe`] without the seed salt.
fn recipe(setting: &Value) -> String {
    let epochs = setting["epochs"].as_u64().unwrap_or(0);
    let images = setting["images"]
        .as_u64()
        .map_or("all".to_string(), |n| n.to_string());
    let strides = match setting["strides"]["rule"].as_str() {
        Some("adapt_strides") => "adapted",
        _ => "kept",
    };
    format!(
        "{} ({images} images), {epochs} epoch{} of batch {} at {} px, strides {strides}",
        setting["data"].as_str().unwrap_or("?"),
        if epochs == 1 { "" } else { "s" },
        setting["batch"].as_u64().unwrap_or(0),
        setting["size"].as_u64().unwrap_or(0),
    )
}

/// The search's reward of `network` at `accuracy`, as the plan defines it (NaN
/// where the plan or the network's step time lacks what it needs).
fn reward(plan: &Value, network: &CheckedNetwork, accuracy: f64) -> f64 {
    let Ok(reward) = serde_json::from_value::<Reward>(plan["reward"].clone()) else {
        return f64::NAN;
    };
    let step = network.step_ms.as_ref().map_or(f64::NAN, |s| s.median);
    reward.of(accuracy, step, network.params)
}

/// Every proxy of the check against its target, in the plan's order; a seeded
/// bootstrap makes the intervals the same on every reading.
pub fn summarize(run: &ProxyCheckRun) -> Vec<ProxySummary> {
    let target = run.accuracies("target");
    let proxies = run.plan["proxies"].as_array().cloned().unwrap_or_default();
    proxies
        .iter()
        .map(|setting| {
            let name = setting["name"].as_str().unwrap_or("?").to_string();
            let proxy = run.accuracies(&name);
            let pairs: Vec<(usize, f64, f64)> = (0..run.networks.len())
                .filter_map(|i| Some((i, proxy[i]?, target[i]?)))
                .collect();
            let x: Vec<f64> = pairs.iter().map(|p| p.1).collect();
            let y: Vec<f64> = pairs.iter().map(|p| p.2).collect();
            let network = |i: usize| &run.networks[i];
            let rx: Vec<f64> = pairs
                .iter()
                .map(|&(i, a, _)| reward(&run.plan, network(i), a))
                .collect();
            let ry: Vec<f64> = pairs
                .iter()
                .map(|&(i, _, a)| reward(&run.plan, network(i), a))
                .collect();
            // Costs over the networks ranked, so that every figure of a row is of
            // the same networks.
            let ranked = |setting: &str| -> Vec<&SettingRun> {
                run.trainings
                    .iter()
                    .filter(|t| t.setting == setting && pairs.iter().any(|p| p.0 == t.network))
                    .collect()
            };
            let seconds: Vec<f64> = ranked(&name).iter().map(|t| t.seconds).collect();
            let compute =
                |setting: &str| -> f64 { ranked(setting).iter().map(|t| t.compute).sum() };
            ProxySummary {
                description: describe(setting),
                recipe: recipe(setting),
                networks: pairs.len(),
                of: run.networks.len(),
                tau: kendall_tau(&x, &y),
                tau_interval: bootstrap_interval(&x, &y, kendall_tau, RESAMPLES, LEVEL, 1),
                spearman: spearman(&x, &y),
                spearman_interval: bootstrap_interval(&x, &y, spearman, RESAMPLES, LEVEL, 2),
                top3: top_overlap(&x, &y, 3),
                reward_tau: kendall_tau(&rx, &ry),
                seconds: seconds.iter().sum::<f64>() / seconds.len().max(1) as f64,
                compute_share: compute(&name) / compute("target"),
                setting: name,
            }
        })
        .collect()
}

/// One proxy recipe as a search would run it: the check's settings that differ
/// only in their seed salt, pooled.
#[derive(Clone, Debug, PartialEq)]
pub struct Recipe<'a> {
    /// The first of its settings in the plan (the unsalted one, as a rule).
    pub first: &'a ProxySummary,
    /// How many settings (seeds) it pools.
    pub seeds: usize,
    /// The mean of their τ: a search draws one seed, so a single lucky one must
    /// not make a recipe pass.
    pub tau: f64,
    /// The mean of their seconds per network.
    pub seconds: f64,
}

/// The check's proxies pooled by recipe, in the plan's order; only settings
/// that rank every network count.
pub fn recipes(summaries: &[ProxySummary]) -> Vec<Recipe<'_>> {
    let complete: Vec<&ProxySummary> = summaries
        .iter()
        .filter(|s| s.networks == s.of && s.tau.is_finite())
        .collect();
    let mut pooled: Vec<Recipe> = Vec::new();
    for summary in &complete {
        if pooled.iter().any(|r| r.first.recipe == summary.recipe) {
            continue;
        }
        let same: Vec<&&ProxySummary> = complete
            .iter()
            .filter(|s| s.recipe == summary.recipe)
            .collect();
        let mean = |f: fn(&ProxySummary) -> f64| {
            same.iter().map(|s| f(s)).sum::<f64>() / same.len() as f64
        };
        pooled.push(Recipe {
            first: summary,
            seeds: same.len(),
            tau: mean(|s| s.tau),
            seconds: mean(|s| s.seconds),
        });
    }
    pooled
}

/// The cheapest recipe (in seconds on this machine) whose τ, averaged over its
/// seeds, reaches `min_tau` over all of the check's networks.
pub fn cheapest_passing(summaries: &[ProxySummary], min_tau: f64) -> Option<Recipe<'_>> {
    recipes(summaries)
        .into_iter()
        .filter(|r| r.tau >= min_tau)
        .min_by(|a, b| a.seconds.total_cmp(&b.seconds))
}

/// `0.52 (0.21 – 0.78)`.
pub fn with_interval(value: f64, (lo, hi): (f64, f64)) -> String {
    if value.is_nan() {
        return "-".into();
    }
    format!("{value:.2} ({lo:.2} – {hi:.2})")
}

/// The summaries as a table: header and rows.
pub fn summary_table(summaries: &[ProxySummary]) -> ([&'static str; 9], Vec<Vec<String>>) {
    let header = [
        "proxy",
        "setting",
        "networks",
        "Kendall τ (90% CI)",
        "Spearman ρ (90% CI)",
        "top 3 shared",
        "reward τ",
        "seconds per network",
        "compute vs target",
    ];
    let rows = summaries
        .iter()
        .map(|s| {
            vec![
                s.setting.clone(),
                s.description.clone(),
                format!("{}/{}", s.networks, s.of),
                with_interval(s.tau, s.tau_interval),
                with_interval(s.spearman, s.spearman_interval),
                format!("{}/{}", s.top3, s.networks.min(3)),
                if s.reward_tau.is_nan() {
                    "-".into()
                } else {
                    format!("{:.2}", s.reward_tau)
                },
                format!("{:.0}", s.seconds),
                if s.compute_share.is_finite() {
                    format!("1/{:.0}", 1.0 / s.compute_share)
                } else {
                    "-".into()
                },
            ]
        })
        .collect();
    (header, rows)
}

pub(crate) fn proxy_check_document(
    run: &ProxyCheckRun,
    dir: &Path,
    files: &mut Vec<PathBuf>,
) -> Result<Document, ReportError> {
    let mut doc = Document::new(format!("Proxy check: {}", run_name(&run.dir)));
    let target = &run.plan["target"];
    let target_runs = run.trainings.iter().filter(|t| t.setting == "target");
    let target_seconds: Vec<f64> = target_runs.map(|t| t.seconds).collect();
    let cap = run.plan["max_macs"].as_f64().map_or(String::new(), |m| {
        format!(", at most {:.2} GMACs each", m / 1e9)
    });
    doc.paragraph(format!(
        "{} networks of the space `{}` (sampled to spread over parameters and MACs{cap}, seed {}), \
         each trained under every proxy and under the target: {} ({:.0} s per network). \
         Accuracy is the validation accuracy after training; the reward is the search's, \
         A·(S/S₀)^w·(P/P₀)^v, with each network's measured step time S and parameters P.",
        run.networks.len(),
        run.plan["space"]["name"].as_str().unwrap_or("?"),
        run.plan["seed"],
        describe(target),
        target_seconds.iter().sum::<f64>() / target_seconds.len().max(1) as f64,
    ));
    let summaries = summarize(run);
    doc.heading("How well each proxy ranks the networks");
    let (header, rows) = summary_table(&summaries);
    doc.table(&header, rows);
    doc.paragraph(format!(
        "Intervals: {RESAMPLES} bootstrap resamples of the networks, seeded. A τ of 1 is the \
         target's order exactly, 0 no relation."
    ));
    for s in &summaries {
        doc.heading(format!("Proxy `{}` against the target", s.setting));
        let target = run.accuracies("target");
        let proxy = run.accuracies(&s.setting);
        let points = run
            .networks
            .iter()
            .filter_map(|n| {
                let label = n.reference.clone().unwrap_or_else(|| n.index.to_string());
                Some((
                    proxy[n.index]?,
                    target[n.index]?,
                    label,
                    n.reference.is_some(),
                ))
            })
            .collect();
        let figure = ProxyScatter {
            name: format!("proxy_{}", file_safe(&s.setting)),
            title: format!("{}: τ = {:.2}", s.setting, s.tau),
            x_desc: format!("proxy accuracy ({})", s.description),
            y_desc: "target accuracy".into(),
            points,
        };
        doc.plot(saved(plots::save(&figure, dir)?, files));
    }
    networks_table(run, &mut doc);
    Ok(doc)
}

fn file_safe(name: &str) -> String {
    name.chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect()
}

/// Every network with its costs and its accuracy under each setting.
fn networks_table(run: &ProxyCheckRun, doc: &mut Document) {
    let settings = run.setting_names();
    let accuracies: Vec<Vec<Option<f64>>> = settings.iter().map(|s| run.accuracies(s)).collect();
    let mut header = vec!["network", "name", "params", "MACs", "step ms"];
    header.extend(settings.iter().map(String::as_str));
    doc.heading("Networks");
    doc.table(
        &header,
        run.networks
            .iter()
            .map(|n| {
                let mut row = vec![
                    n.reference.clone().unwrap_or_else(|| n.index.to_string()),
                    n.spec.name.clone(),
                    thousands(n.params),
                    si(n.macs),
                    ms(n.step_ms.as_ref().map(|s| s.median)),
                ];
                row.extend(accuracies.iter().map(|a| pct(a[n.index])));
                row
            })
            .collect(),
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    fn summary(setting: &str, recipe: &str, tau: f64, seconds: f64) -> ProxySummary {
        ProxySummary {
            setting: setting.into(),
            description: recipe.into(),
            recipe: recipe.into(),
            networks: 8,
            of: 8,
            tau,
            tau_interval: (tau, tau),
            spearman: tau,
            spearman_interval: (tau, tau),
            top3: 2,
            reward_tau: tau,
            seconds,
            compute_share: 0.1,
        }
    }

    #[test]
    fn a_recipe_passes_on_the_mean_of_its_seeds_not_its_luckiest() {
        let summaries = [
            summary("default", "2 epochs", 0.36, 75.0),
            summary("again", "2 epochs", 0.62, 77.0),
            summary("adapt", "2 epochs adapted", 0.64, 174.0),
            summary("e1", "1 epoch", 0.29, 38.0),
        ];
        let pooled = recipes(&summaries);
        assert_eq!(pooled.len(), 3);
        assert_eq!(
            (pooled[0].first.setting.as_str(), pooled[0].seeds),
            ("default", 2)
        );
        assert!((pooled[0].tau - 0.49).abs() < 1e-9);
        assert!((pooled[0].seconds - 76.0).abs() < 1e-9);
        assert_eq!(
            cheapest_passing(&summaries, 0.6).unwrap().first.setting,
            "adapt"
        );
        assert_eq!(
            cheapest_passing(&summaries, 0.45).unwrap().first.setting,
            "default"
        );
        assert!(cheapest_passing(&summaries, 0.7).is_none());
        // A setting that has not ranked every network yet is left out.
        let mut partial = summaries.clone();
        partial[2].networks = 5;
        assert!(cheapest_passing(&partial, 0.6).is_none());
    }
}
