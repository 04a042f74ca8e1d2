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
    Device::new_cuda(ordinal).map_err(|e| ModelError::DeviceUnavailable {
        device: name.trim().to_string(),
        // The driver's message, without the backtrace candle attaches.
        reason: e.to_string().lines().next().unwrap_or_default().to_string(),
    })
}

/// A comma-separated list of devices, e.g. `cuda:0,cuda:1`, in order.
pub fn parse_devices(list: &str) -> Result<Vec<Device>, ModelError> {
    list.split(',').map(parse_device).collect()
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
        assert_eq!(parse_devices("cpu, cpu").unwrap().len(), 2);
        for bad in ["cpu,", "cpu,gpu", ""] {
            assert!(parse_devices(bad).is_err(), "{bad}");
        }
    }
}
