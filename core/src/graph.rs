//! The wiring of a functional network: which earlier outputs each layer takes.

/// Most inputs one layer of a graph may take (a merge's operands).
pub const MAX_INPUTS: usize = 8;

/// Where one input of a layer comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Source {
    /// The network's input.
    Input,
    /// The output of layer `i` (an earlier one: graphs list layers in topological order;
    /// `u8` holds every index below [`MAX_LAYERS`](crate::MAX_LAYERS)).
    Layer(u8),
}

/// The inputs of one layer of a graph, in order: one for most layers, 2 to
/// [`MAX_INPUTS`] for a merge (its operands, Concatenate's parts from left to right).
/// Unused slots hold [`Source::Input`], so equal inputs compare equal.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Inbound {
    sources: [Source; MAX_INPUTS],
    len: u8,
}

impl Inbound {
    /// The given sources; `None` when there are none or more than [`MAX_INPUTS`].
    pub fn new(sources: &[Source]) -> Option<Self> {
        if sources.is_empty() || sources.len() > MAX_INPUTS {
            return None;
        }
        let mut all = [Source::Input; MAX_INPUTS];
        all[..sources.len()].copy_from_slice(sources);
        Some(Inbound {
            sources: all,
            len: sources.len() as u8,
        })
    }

    /// Layer `i`'s input in a chain: the previous layer's output (the network input for 0).
    pub fn chain(i: usize) -> Self {
        let mut sources = [Source::Input; MAX_INPUTS];
        if let Some(prev) = i.checked_sub(1) {
            sources[0] = Source::Layer(prev as u8);
        }
        Inbound { sources, len: 1 }
    }

    /// The sources, in order.
    pub fn sources(&self) -> &[Source] {
        &self.sources[..usize::from(self.len)]
    }
}
