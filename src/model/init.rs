//! Seeded random initialisation (Kaiming-normal, fan_in, gain √2).

/// splitmix64: a small, seedable generator with good statistics.
#[derive(Clone, Debug)]
pub struct SplitMix64(pub u64);

impl SplitMix64 {
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    pub fn uniform(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Standard normal (Box–Muller).
    pub fn normal(&mut self) -> f64 {
        let u1 = self.uniform().max(f64::MIN_POSITIVE);
        let u2 = self.uniform();
        (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()
    }
}

/// Kaiming-normal weights for a [C_out, C_in, k, k] conv: std = √(2 / fan_in).
pub fn kaiming_normal(shape: &[usize], rng: &mut SplitMix64) -> Vec<f32> {
    let fan_in: usize = shape[1..].iter().product();
    let std = (2.0 / fan_in.max(1) as f64).sqrt();
    (0..shape.iter().product::<usize>())
        .map(|_| (rng.normal() * std) as f32)
        .collect()
}
