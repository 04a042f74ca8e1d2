//! Tables, Pareto fronts, plots and the HTML report of a run directory.
//!
//! Empty for now: it arrives with the reports issue, once a search writes runs.
