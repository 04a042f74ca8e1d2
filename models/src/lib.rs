//! Candle networks built from `space` specs, and the fast ops they train with.
//!
//! Empty for now: the builder arrives with the `models` issue. It will build each
//! [`space::BlockSpec`] of a spec, so the networks and the analytic counts agree by
//! construction.
