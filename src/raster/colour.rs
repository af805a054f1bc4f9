//! A photo's colours in sRGB and back. The models were trained on sRGB
//! photos and the screen shows sRGB, so a photo with another RGB profile
//! (Adobe RGB from a camera, Display P3 from a phone) is filled and shown
//! in sRGB, and its filled pixels go back into its own profile when it is
//! saved; its known pixels keep their stored values (`photo::compose`).
use std::sync::Arc;

use moxcms::{ColorProfile, DataColorSpace, Layout, TransformExecutor, TransformOptions};

use crate::error::{Error, Result};
use crate::raster::metadata::Metadata;
use crate::raster::planes::Planes;

/// The two conversions between a photo's RGB profile and sRGB.
#[derive(Clone)]
pub struct Profiled {
    to_srgb: Arc<moxcms::TransformF32Executor>,
    from_srgb: Arc<moxcms::TransformF32Executor>,
}

impl std::fmt::Debug for Profiled {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Profiled")
    }
}

impl Profiled {
    /// The conversions for `metadata`'s profile; None without a profile,
    /// for one that is not RGB or cannot be read (the values are then taken
    /// as sRGB, as before), and for an sRGB profile (nothing to do, so such
    /// photos are filled exactly as OpenCV fills them): one that moves no
    /// colour of a ramp through every level of each channel by a level or
    /// more. sRGB profiles as photos embed them differ from moxcms's sRGB
    /// by up to 0.49 levels (ghostscript's, on saturated colours); Display
    /// P3 and Adobe RGB by tens.
    pub fn of(metadata: &Metadata) -> Option<Self> {
        let icc = metadata.icc.as_deref()?;
        let profile = ColorProfile::new_from_slice(icc).ok()?;
        if profile.color_space != DataColorSpace::Rgb {
            return None;
        }
        let srgb = ColorProfile::new_srgb();
        let options = TransformOptions::default();
        let to_srgb = profile
            .create_transform_f32(Layout::Rgb, &srgb, Layout::Rgb, options)
            .ok()?;
        let from_srgb = srgb
            .create_transform_f32(Layout::Rgb, &profile, Layout::Rgb, options)
            .ok()?;
        let ramp: Vec<f32> = (0..=255u8)
            .flat_map(|v| {
                let v = f32::from(v) / 255.0;
                [v, 1.0 - v, (v * 7.0).fract()]
            })
            .collect();
        let mut out = vec![0.0; ramp.len()];
        to_srgb.transform(&ramp, &mut out).ok()?;
        let identity = ramp
            .iter()
            .zip(&out)
            .all(|(a, b)| (a - b).abs() * 255.0 < 1.0);
        (!identity).then_some(Profiled { to_srgb, from_srgb })
    }

    /// `planes` (the photo's values) in sRGB, clamped to [0, 1] (colours
    /// outside sRGB's gamut go to its edge).
    pub fn to_srgb(&self, planes: &mut Planes) -> Result<()> {
        convert(&*self.to_srgb, planes)
    }

    /// `planes` (sRGB values) in the photo's profile.
    pub fn from_srgb(&self, planes: &mut Planes) -> Result<()> {
        convert(&*self.from_srgb, planes)
    }
}

/// Applies `t` to every pixel of `planes` (planar there, interleaved for
/// the transform, a chunk at a time so a large photo needs no second
/// copy), clamping the results to [0, 1].
fn convert(t: &dyn TransformExecutor<f32>, planes: &mut Planes) -> Result<()> {
    const CHUNK: usize = 1 << 16;
    let n = planes.width * planes.height;
    let (mut rgb, mut out) = (vec![0.0f32; 3 * CHUNK], vec![0.0f32; 3 * CHUNK]);
    for start in (0..n).step_by(CHUNK) {
        let len = CHUNK.min(n - start);
        for c in 0..3 {
            let plane = &planes.data[c * n + start..c * n + start + len];
            for (i, v) in plane.iter().enumerate() {
                rgb[3 * i + c] = *v;
            }
        }
        t.transform(&rgb[..3 * len], &mut out[..3 * len])
            .map_err(|e| Error::Invalid(format!("converting the photo's colour profile: {e}")))?;
        for c in 0..3 {
            let plane = &mut planes.data[c * n + start..c * n + start + len];
            for (i, v) in plane.iter_mut().enumerate() {
                let x = out[3 * i + c];
                *v = if x.is_nan() { 0.0 } else { x.clamp(0.0, 1.0) };
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with_icc(icc: Option<Vec<u8>>) -> Metadata {
        Metadata {
            icc,
            ..Metadata::default()
        }
    }

    /// sRGB's red in Display P3 (CSS Color 4: `color(display-p3 0.9175
    /// 0.2003 0.1386)`), from outside moxcms.
    const SRGB_RED_IN_P3: [f32; 3] = [0.9175, 0.2003, 0.1386];

    #[test]
    fn a_display_p3_photo_converts_to_srgb_and_back() {
        let p3 = ColorProfile::new_display_p3().encode().unwrap();
        let profiled = Profiled::of(&with_icc(Some(p3))).expect("P3 is not sRGB");
        // Red, a mid grey and a dark blue in P3 (all inside sRGB's gamut).
        let values = [SRGB_RED_IN_P3, [0.5, 0.5, 0.5], [0.1, 0.2, 0.6]];
        let mut planes = Planes {
            width: 3,
            height: 1,
            data: (0..3).flat_map(|c| values.map(|v| v[c])).collect(),
        };
        let stored = planes.clone();
        profiled.to_srgb(&mut planes).unwrap();
        let px = |p: &Planes, i: usize| [p.data[i], p.data[3 + i], p.data[6 + i]];
        for (got, want) in px(&planes, 0).iter().zip([1.0, 0.0, 0.0]) {
            // The CSS values have four digits: a few thousandths.
            assert!((got - want).abs() < 4e-3, "red {:?}", px(&planes, 0));
        }
        for c in 0..3 {
            // Both spaces share sRGB's transfer curve and white: grey stays.
            assert!((px(&planes, 1)[c] - 0.5).abs() < 1e-3);
        }
        profiled.from_srgb(&mut planes).unwrap();
        for (a, b) in planes.data.iter().zip(&stored.data) {
            assert!((a - b).abs() < 1e-3, "round trip {a} against {b}");
        }
    }

    #[test]
    fn a_large_photo_converts_as_each_pixel_alone() {
        let p3 = ColorProfile::new_display_p3().encode().unwrap();
        let profiled = Profiled::of(&with_icc(Some(p3))).unwrap();
        // More pixels than one chunk, each its own colour.
        let (w, h) = (331, 211);
        let n = w * h;
        let value = |c: usize, i: usize| ((i * (c + 3) * 2654435761) % 1000) as f32 / 999.0;
        let mut planes = Planes {
            width: w,
            height: h,
            data: (0..3 * n).map(|k| value(k / n, k % n)).collect(),
        };
        profiled.to_srgb(&mut planes).unwrap();
        for i in (0..n).step_by(997).chain([65_535, 65_536, n - 1]) {
            let mut one = Planes {
                width: 1,
                height: 1,
                data: (0..3).map(|c| value(c, i)).collect(),
            };
            profiled.to_srgb(&mut one).unwrap();
            for c in 0..3 {
                let got = planes.data[c * n + i];
                // The transform's SIMD lanes and its scalar tail may
                // round differently: a few ulps of 1.
                assert!((got - one.data[c]).abs() < 1e-6, "pixel {i}");
            }
        }
    }

    /// Profiles come from the photo, so from anyone: cut and corrupted
    /// ones are read or refused, never a panic (the transforms included).
    #[test]
    fn corrupted_profiles_never_panic() {
        let seeds = [
            ColorProfile::new_display_p3().encode().unwrap(),
            ColorProfile::new_adobe_rgb().encode().unwrap(),
        ];
        let mut rng = 0x9E37_79B9_7F4A_7C15u64;
        let mut next = move || {
            rng ^= rng << 13;
            rng ^= rng >> 7;
            rng ^= rng << 17;
            rng as usize
        };
        for i in 0..1500 {
            let mut icc = seeds[i % 2].clone();
            if i % 3 == 0 {
                icc.truncate(next() % icc.len());
            } else {
                for _ in 0..1 + next() % 8 {
                    let at = next() % icc.len();
                    icc[at] = next() as u8;
                }
            }
            if let Some(p) = Profiled::of(&with_icc(Some(icc))) {
                let mut planes = Planes {
                    width: 3,
                    height: 2,
                    data: (0..18).map(|v| v as f32 / 17.0).collect(),
                };
                let _ = p.to_srgb(&mut planes);
                let _ = p.from_srgb(&mut planes);
                assert!(planes.data.iter().all(|v| (0.0..=1.0).contains(v)));
            }
        }
    }

    #[test]
    fn srgb_unreadable_and_non_rgb_profiles_are_left_alone() {
        let srgb = ColorProfile::new_srgb().encode().unwrap();
        assert!(Profiled::of(&with_icc(Some(srgb))).is_none());
        // An sRGB profile a camera embeds is a little off moxcms's own:
        // colorants rounded differently move saturated colours by a
        // fraction of a level (0.40 here, 0.49 for ghostscript's), which is
        // still sRGB.
        let mut near = ColorProfile::new_srgb();
        near.red_colorant.x += 0.0003;
        near.blue_colorant.z -= 0.0003;
        let to_srgb = near
            .create_transform_f32(
                Layout::Rgb,
                &ColorProfile::new_srgb(),
                Layout::Rgb,
                TransformOptions::default(),
            )
            .unwrap();
        let (red, mut out) = ([1.0f32, 0.0, 0.0, 0.0, 0.0, 1.0], [0.0f32; 6]);
        to_srgb.transform(&red, &mut out).unwrap();
        let off = red
            .iter()
            .zip(&out)
            .map(|(a, b)| (a - b).abs() * 255.0)
            .fold(0.0, f32::max);
        assert!((0.1..1.0).contains(&off), "{off} levels");
        assert!(Profiled::of(&with_icc(Some(near.encode().unwrap()))).is_none());
        assert!(Profiled::of(&with_icc(None)).is_none());
        assert!(Profiled::of(&with_icc(Some(b"not a profile".repeat(20)))).is_none());
        let grey = ColorProfile::new_gray_with_gamma(2.2).encode().unwrap();
        assert!(Profiled::of(&with_icc(Some(grey))).is_none());
    }
}
