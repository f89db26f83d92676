//! The one keyed hash behind every seeded decision: SipHash-1-3 keyed with
//! (seed, domain). Each decision has its own domain, listed here so no two
//! can collide, and hashes only stable keys (document hashes, source and
//! row identities, record bytes), so a decision is a pure function of the
//! seed and the keys, whatever the thread count, shard count or machine.

use siphasher::sip::SipHasher13;
use std::hash::Hasher;

/// `mix`: the rank of a summary within its raw document ("knowmix1").
pub const MIX_RANK: u64 = 0x6b6e_6f77_6d69_7831;
/// `recipe`: the draw rank of a record ("kmrecipe").
pub const RECIPE_RANK: u64 = 0x6b6d_7265_6369_7065;
/// `recipe`: the shuffle key of a copy ("kmshuffl").
pub const RECIPE_SHUFFLE: u64 = 0x6b6d_7368_7566_666c;
/// `sample --ratio`: whether a record is kept ("ratiokm1").
pub const SAMPLE_RATIO: u64 = 0x7261_7469_6f6b_6d31;

/// The hash, under `seed` in `domain`, of what `write` feeds the hasher.
pub fn hash(seed: u64, domain: u64, write: impl FnOnce(&mut SipHasher13)) -> u64 {
    let mut h = SipHasher13::new_with_keys(seed, domain);
    write(&mut h);
    h.finish()
}

#[cfg(test)]
mod tests {
    #[test]
    fn domains_are_distinct() {
        let mut all = [
            super::MIX_RANK,
            super::RECIPE_RANK,
            super::RECIPE_SHUFFLE,
            super::SAMPLE_RATIO,
        ];
        all.sort_unstable();
        assert!(all.windows(2).all(|w| w[0] != w[1]));
    }
}
