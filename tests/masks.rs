//! The free-form mask generator: deterministic per seed, hole ratios spread
//! over the requested range, holes reaching the borders.
use pconv::data::masks::free_form_mask;
use pconv::model::SplitMix64;

#[test]
fn same_seed_same_mask_and_different_seeds_differ() {
    let a = free_form_mask(64, 48, 0.01, 0.6, &mut SplitMix64(5));
    let b = free_form_mask(64, 48, 0.01, 0.6, &mut SplitMix64(5));
    let c = free_form_mask(64, 48, 0.01, 0.6, &mut SplitMix64(6));
    assert_eq!(a, b);
    assert_ne!(a, c);
}

#[test]
fn ratios_cover_the_range() {
    let mut rng = SplitMix64(1);
    let ratios: Vec<f64> = (0..200)
        .map(|_| free_form_mask(64, 64, 0.01, 0.6, &mut rng).ratio())
        .collect();
    let min = ratios.iter().cloned().fold(1.0, f64::min);
    let max = ratios.iter().cloned().fold(0.0, f64::max);
    assert!(min >= 0.01, "min ratio {min}");
    assert!(max <= 0.8, "max ratio {max}");
    for (lo, hi) in [
        (0.0, 0.1),
        (0.1, 0.2),
        (0.2, 0.3),
        (0.3, 0.4),
        (0.4, 0.5),
        (0.5, 0.7),
    ] {
        let n = ratios.iter().filter(|&&r| r > lo && r <= hi).count();
        assert!(
            n >= 10,
            "only {n} of 200 masks with a hole ratio in ({lo}, {hi}]"
        );
    }
    // Some masks reach the image border.
    let mut rng = SplitMix64(2);
    let touching = (0..50)
        .filter(|_| {
            let m = free_form_mask(32, 32, 0.2, 0.4, &mut rng);
            (0..32).any(|i| {
                m.holes[i] || m.holes[31 * 32 + i] || m.holes[i * 32] || m.holes[i * 32 + 31]
            })
        })
        .count();
    assert!(touching > 10, "{touching}");
}
