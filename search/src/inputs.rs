//! Resolves what a user names on the command line (a preset, a built-in space, a
//! JSON file) into validated specs, with errors that say which input is wrong.

use std::path::Path;

use space::spaces::{SPACE_NAMES, builtin_space};
use space::{ArchSpec, PRESET_NAMES, SearchSpace, preset};

use crate::failure::Failure;

/// A preset name or the path of an `ArchSpec` JSON file, validated.
pub fn load_arch(name_or_path: &str) -> Result<ArchSpec, Failure> {
    if let Ok(spec) = preset(name_or_path) {
        return Ok(spec);
    }
    let text = read_named_file(name_or_path, "a preset", &PRESET_NAMES)?;
    let spec = ArchSpec::from_json(&text).map_err(|e| {
        Failure::bad_input(format!(
            "{name_or_path}: not a valid architecture spec: {e}"
        ))
    })?;
    spec.validate()
        .map_err(|e| Failure::bad_input(format!("{name_or_path}: {e}")))?;
    Ok(spec)
}

/// A built-in space name or the path of a `SearchSpace` JSON file, validated.
pub fn load_space(name_or_path: &str) -> Result<SearchSpace, Failure> {
    if let Some(space) = builtin_space(name_or_path) {
        return Ok(space);
    }
    let text = read_named_file(name_or_path, "a built-in space", &SPACE_NAMES)?;
    SearchSpace::from_json(&text)
        .map_err(|e| Failure::bad_input(format!("{name_or_path}: not a valid search space: {e}")))
}

/// Reads `path`, or explains that it is neither one of `names` nor a file.
fn read_named_file(path: &str, what: &str, names: &[&str]) -> Result<String, Failure> {
    if !Path::new(path).exists() {
        return Err(Failure::bad_input(format!(
            "`{path}` is neither {what} ({}) nor an existing file",
            names.join(", ")
        )));
    }
    std::fs::read_to_string(path)
        .map_err(|e| Failure::bad_input(format!("{path}: cannot read: {e}")))
}
