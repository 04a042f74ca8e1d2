//! Choosing where tensors live from a user's string.

use candle_core::Device;

use crate::error::ModelError;

/// `cpu`, `cuda` (GPU 0) or `cuda:N`.
pub fn parse_device(name: &str) -> Result<Device, ModelError> {
    let ordinal = match name.trim() {
        "cpu" => return Ok(Device::Cpu),
        "cuda" => 0,
        other => other
            .strip_prefix("cuda:")
            .and_then(|n| n.parse::<usize>().ok())
            .ok_or_else(|| ModelError::UnknownDevice(name.to_string()))?,
    };
    if !cfg!(feature = "cuda") {
        return Err(ModelError::NoCuda(name.to_string()));
    }
    Ok(Device::new_cuda(ordinal)?)
}

/// Waits for the device's queued work, so a timer around it measures the work.
pub fn synchronize(device: &Device) -> candle_core::Result<()> {
    device.synchronize()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_checked() {
        assert!(parse_device("cpu").unwrap().is_cpu());
        for bad in ["gpu", "cuda:", "cuda:x", "cuda:-1", ""] {
            assert!(
                matches!(parse_device(bad), Err(ModelError::UnknownDevice(_))),
                "{bad}"
            );
        }
        if !cfg!(feature = "cuda") {
            assert!(matches!(parse_device("cuda:1"), Err(ModelError::NoCuda(_))));
        }
    }
}
