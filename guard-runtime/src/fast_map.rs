//! The hash map for lookups on every request.
//!
//! std's SipHash costs more than the rest of a token or role lookup. These
//! maps are keyed by what the server itself chose: SHA-256 digests of
//! secrets it issued, and role names from its own policy. A client cannot
//! pick which keys are stored, so the keyed, DoS-hardened hash buys
//! nothing there; foldhash, seeded at random per map, is several times
//! cheaper. Maps whose keys a client picks (replay keys, denial counters)
//! keep std's hasher.

/// A `HashMap` with foldhash's per-map random seed.
pub(crate) type FastMap<K, V> = std::collections::HashMap<K, V, foldhash::fast::RandomState>;
