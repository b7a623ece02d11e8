//! The hash map for lookups on every request.
//!
//! std's SipHash costs more than the rest of a token or role lookup. These
//! maps are keyed by SHA-256 digests (of keys and session ids) and by the
//! role names of the app's own policy: a client only looks keys up, and
//! cannot steer which digests are stored, so the keyed, DoS-hardened hash
//! buys little there. foldhash, seeded at random per map, is several times
//! cheaper. Maps whose keys a client picks (replay keys, denial counters)
//! keep std's hasher.

/// A `HashMap` with foldhash's per-map random seed.
pub(crate) type FastMap<K, V> = std::collections::HashMap<K, V, foldhash::fast::RandomState>;
