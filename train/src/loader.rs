//! Batches: images augmented in parallel (one task per image) and built on a
//! background thread ahead of the trainer, so the model does not wait for data.
//! Every image's randomness comes from (seed, epoch, position), so a batch is the
//! same however threads are scheduled, and a resumed run sees the same data.

use std::sync::Arc;
use std::sync::mpsc::{Receiver, sync_channel};

use rand::seq::SliceRandom;
use rayon::prelude::*;

use crate::augment::{Augment, Image, mix_batch};
use crate::data::Dataset;
use crate::rng::rng_for;

/// Network inputs and soft targets for one step.
#[derive(Clone, Debug)]
pub struct Batch {
    /// `[B, C, S, S]`, normalised.
    pub images: Vec<f32>,
    /// `[B, K]`: one-hot, or mixed by Mixup/CutMix.
    pub targets: Vec<f32>,
    pub labels: Vec<u32>,
    pub channels: usize,
    pub size: usize,
}

impl Batch {
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }
}

/// Builds one batch of the images at `indices`.
pub fn make_batch(
    data: &Dataset,
    indices: &[usize],
    augment: &Augment,
    stats: &[(f32, f32)],
    seed: &[u64],
) -> Batch {
    let images: Vec<Vec<f32>> = indices
        .par_iter()
        .enumerate()
        .map(|(position, &i)| {
            let mut rng = rng_for(&[seed, &[position as u64]].concat());
            let source = Image::from_bytes(data.image(i), data.channels, data.height, data.width);
            let mut img = augment.image(&source, &mut rng);
            img.normalize(stats);
            img.data
        })
        .collect();
    let mut images: Vec<f32> = images.concat();
    let labels: Vec<u32> = indices.iter().map(|&i| data.labels[i]).collect();
    let mut targets = vec![0.0; labels.len() * data.classes];
    for (b, &l) in labels.iter().enumerate() {
        targets[b * data.classes + l as usize] = 1.0;
    }
    let mut rng = rng_for(&[seed, &[u64::MAX]].concat());
    mix_batch(
        &mut images,
        &mut targets,
        labels.len(),
        data.channels,
        augment.size,
        data.classes,
        augment.mixup_alpha,
        augment.cutmix_alpha,
        &mut rng,
    );
    Batch {
        images,
        targets,
        labels,
        channels: data.channels,
        size: augment.size,
    }
}

/// The order of an epoch: shuffled by (seed, epoch) for training, in order for
/// evaluation.
pub fn epoch_order(len: usize, shuffle: Option<(u64, u64)>) -> Vec<usize> {
    let mut order: Vec<usize> = (0..len).collect();
    if let Some((seed, epoch)) = shuffle {
        order.shuffle(&mut rng_for(&[seed, epoch, 0x5EED]));
    }
    order
}

/// Produces the batches of one pass over `order` on a background thread, at most
/// `ahead` batches ahead of the consumer. The last, partial batch is kept.
pub fn spawn_batches(
    data: Arc<Dataset>,
    order: Vec<usize>,
    batch: usize,
    augment: Augment,
    stats: Vec<(f32, f32)>,
    seed: [u64; 2],
    ahead: usize,
) -> Receiver<Batch> {
    let (tx, rx) = sync_channel(ahead);
    std::thread::spawn(move || {
        for (i, chunk) in order.chunks(batch.max(1)).enumerate() {
            let b = make_batch(
                &data,
                chunk,
                &augment,
                &stats,
                &[seed[0], seed[1], i as u64],
            );
            if tx.send(b).is_err() {
                return; // the consumer stopped early
            }
        }
    });
    rx
}
