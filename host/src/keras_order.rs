//! The order Keras lists a Functional model's layers in (`model.layers`), which its
//! weight files follow: by decreasing depth (the longest path to the output), layers of
//! equal depth in the order a depth-first walk from the output finishes them.

use microdense_core::{Inbound, Source};

/// `layers` and their `wiring` (topological, the output last) in Keras's order, each
/// source renumbered.
pub fn keras_order<T>(layers: Vec<T>, wiring: &[Inbound]) -> (Vec<T>, Vec<Inbound>) {
    let n = wiring.len();
    let earlier = |i: usize| {
        wiring[i].sources().iter().filter_map(|s| match *s {
            Source::Layer(j) => Some(usize::from(j)),
            Source::Input => None,
        })
    };
    let mut depth = vec![0usize; n];
    for i in (0..n).rev() {
        for j in earlier(i) {
            depth[j] = depth[j].max(depth[i] + 1);
        }
    }
    // Depth-first from the output, inputs in order: when each layer is finished.
    let mut finished = vec![0usize; n];
    let mut seen = vec![false; n];
    let mut count = 0;
    let mut stack: Vec<(usize, usize)> = Vec::new();
    if let Some(out) = n.checked_sub(1) {
        seen[out] = true;
        stack.push((out, 0));
    }
    while let Some((i, k)) = stack.pop() {
        match wiring[i].sources().get(k) {
            Some(source) => {
                stack.push((i, k + 1));
                if let Source::Layer(j) = *source {
                    let j = usize::from(j);
                    if !seen[j] {
                        seen[j] = true;
                        stack.push((j, 0));
                    }
                }
            }
            None => {
                finished[i] = count;
                count += 1;
            }
        }
    }
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by_key(|&i| (std::cmp::Reverse(depth[i]), finished[i]));
    let mut position = vec![0u8; n];
    for (at, &i) in order.iter().enumerate() {
        position[i] = at as u8;
    }
    let rewired = order
        .iter()
        .map(|&i| {
            let sources: Vec<Source> = wiring[i]
                .sources()
                .iter()
                .map(|s| match *s {
                    Source::Layer(j) => Source::Layer(position[usize::from(j)]),
                    Source::Input => Source::Input,
                })
                .collect();
            // As many sources as before, so always `Some`.
            Inbound::new(&sources).unwrap_or(wiring[i])
        })
        .collect();
    let mut slots: Vec<Option<T>> = layers.into_iter().map(Some).collect();
    let reordered = order.iter().filter_map(|&i| slots[i].take()).collect();
    (reordered, rewired)
}
