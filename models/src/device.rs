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

/// One device handle per worker, in turn over a comma-separated list: worker i gets
/// the (i mod n)-th device. Each CUDA handle has its own cuBLAS handle, so two workers
/// on one GPU never share one (cuBLAS handles are not for concurrent use).
pub fn open_for_workers(list: &str, workers: usize) -> Result<Vec<Device>, ModelError> {
    let names: Vec<&str> = list.split(',').collect();
    (0..workers)
        .map(|i| parse_device(names[i % names.len()]))
        .collect()
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
        assert_eq!(open_for_workers("cpu, cpu", 2).unwrap().len(), 2);
        assert_eq!(open_for_workers("cpu", 3).unwrap().len(), 3);
        assert!(
            open_for_workers("cpu,gpu", 1).is_ok(),
            "only the devices in use are opened"
        );
        assert!(open_for_workers("cpu,gpu", 2).is_err());
        for bad in ["cpu,", "cpu,gpu", ""] {
            assert!(open_for_workers(bad, 2).is_err(), "{bad}");
        }
    }
}
