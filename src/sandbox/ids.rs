//! Deterministic randomness for the sandbox: ids, jitter and fault draws all come
//! from one seeded generator, so a run with the same seed and the same requests
//! produces the same tenant.

/// SplitMix64: tiny, fast and good enough for ids and jitter (not for secrets).
#[derive(Debug, Clone)]
pub struct Rng(u64);

const BASE62: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed ^ 0x9E37_79B9_7F4A_7C15)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    pub fn below(&mut self, n: u64) -> u64 {
        if n == 0 { 0 } else { self.next_u64() % n }
    }

    /// True with probability `p`.
    pub fn chance(&mut self, p: f64) -> bool {
        p > 0.0 && self.unit() < p
    }

    fn base62(&mut self, n: usize) -> String {
        (0..n).map(|_| BASE62[self.below(62) as usize] as char).collect()
    }

    fn hex(&mut self, n: usize) -> String {
        (0..n).map(|_| char::from_digit(self.below(16) as u32, 16).unwrap_or('0')).collect()
    }

    /// Okta object id: 20 characters, a 3-character type prefix (`00u`, `00g`, `0oa`, `0ua`).
    pub fn okta_id(&mut self, prefix: &str) -> String {
        format!("{prefix}{}", self.base62(20 - prefix.len()))
    }

    /// Okta error id: 25 characters starting `oae`.
    pub fn okta_error_id(&mut self) -> String {
        format!("oae{}", self.base62(22))
    }

    /// 32 lowercase hex characters, as current Okta orgs send in X-Okta-Request-Id.
    pub fn request_id(&mut self) -> String {
        self.hex(32)
    }

    /// A version-4 style GUID, as Entra object ids and AWS request ids look.
    pub fn guid(&mut self) -> String {
        let h = self.hex(32);
        format!(
            "{}-{}-4{}-{}{}-{}",
            &h[0..8],
            &h[8..12],
            &h[13..16],
            ["8", "9", "a", "b"][self.below(4) as usize],
            &h[17..20],
            &h[20..32]
        )
    }

    /// Identity Center ids of newer stores: `x4x8x4x8-x0x1-70xx-…` (treated as opaque).
    pub fn identity_center_id(&mut self) -> String {
        let h = self.hex(32);
        format!("{}-{}-70{}-{}-{}", &h[0..8], &h[8..12], &h[12..14], &h[14..18], &h[18..30])
    }

    /// Okta System Log uuid: version-1 time style, as public samples show.
    pub fn log_uuid(&mut self) -> String {
        let h = self.hex(32);
        format!("{}-{}-11f1-{}-{}", &h[0..8], &h[8..12], &h[12..16], &h[16..28])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_ids() {
        let (mut a, mut b) = (Rng::new(7), Rng::new(7));
        assert_eq!(a.okta_id("00u"), b.okta_id("00u"));
        assert_eq!(a.guid(), b.guid());
    }

    #[test]
    fn shapes() {
        let mut r = Rng::new(1);
        let id = r.okta_id("00u");
        assert_eq!(id.len(), 20);
        assert!(id.starts_with("00u"));
        assert_eq!(r.okta_error_id().len(), 25);
        assert_eq!(r.request_id().len(), 32);
        let g = r.guid();
        assert_eq!(g.len(), 36);
        assert_eq!(&g[14..15], "4");
    }
}
