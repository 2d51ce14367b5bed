//! Pictures of features for people: chromagrams and self-similarity matrices as small indexed
//! PNG images (viridis colours), and `data:` URIs so an HTML report can hold them inline.

use std::path::Path;

use crate::error::{Error, Result};
use crate::features::chroma::N_CHROMA;
use crate::report::output::write_atomic;

/// Most columns of a chromagram image: finer than this is more than a screen shows, and it
/// keeps a report of 40 tracks small.
pub const MAX_CHROMAGRAM_COLUMNS: usize = 1200;

/// Most rows and columns of a self-similarity image (the matrix is pooled down to this).
pub const MAX_SSM_CELLS: usize = 320;

/// Viridis at nine evenly spaced points (0, 1/8, ..., 1), interpolated into the palette.
const VIRIDIS: [[u8; 3]; 9] = [
    [68, 1, 84],
    [71, 44, 122],
    [59, 81, 139],
    [44, 113, 142],
    [33, 144, 141],
    [39, 173, 129],
    [92, 200, 99],
    [170, 220, 50],
    [253, 231, 37],
];

/// An 8-bit image whose pixels index the viridis palette (0 darkest, 255 brightest), row by row
/// from the top.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Image {
    /// Pixels per row.
    pub width: u32,
    /// Rows.
    pub height: u32,
    /// `width * height` palette indices.
    pub pixels: Vec<u8>,
}

/// The 256-entry viridis palette as RGB triples (768 bytes).
pub fn viridis_palette() -> Vec<u8> {
    let mut out = Vec::with_capacity(768);
    for i in 0..256 {
        let x = i as f32 / 255.0 * 8.0;
        let k = (x.floor() as usize).min(7);
        let t = x - k as f32;
        for (&a, &b) in VIRIDIS[k].iter().zip(&VIRIDIS[k + 1]) {
            let (a, b) = (f32::from(a), f32::from(b));
            out.push((a + (b - a) * t).round().clamp(0.0, 255.0) as u8);
        }
    }
    out
}

/// A value in [0, 1] as a palette index; NaN is 0.
fn level(v: f32) -> u8 {
    if v.is_finite() { (v.clamp(0.0, 1.0) * 255.0).round() as u8 } else { 0 }
}

/// Encodes `image` as an indexed-colour PNG with the viridis palette.
///
/// # Errors
/// [`Error::ImageEncode`] when the image is empty or its pixel count does not match its size.
pub fn encode_png(image: &Image, what: &'static str) -> Result<Vec<u8>> {
    let wrap = |source| Error::ImageEncode { what, source };
    let mut out = Vec::new();
    let mut encoder = png::Encoder::new(&mut out, image.width, image.height);
    encoder.set_color(png::ColorType::Indexed);
    encoder.set_depth(png::BitDepth::Eight);
    encoder.set_palette(viridis_palette());
    let mut writer = encoder.write_header().map_err(wrap)?;
    writer.write_image_data(&image.pixels).map_err(wrap)?;
    writer.finish().map_err(wrap)?;
    Ok(out)
}

/// The frame ranges `[start, end)` that `n` frames are pooled into, at most `max_cells` of them.
fn cells(n: usize, max_cells: usize) -> Vec<(usize, usize)> {
    let m = n.min(max_cells.max(1));
    (0..m).map(|c| (c * n / m, ((c + 1) * n / m).max(c * n / m + 1))).collect()
}

fn mean_frame(frames: &[[f32; N_CHROMA]]) -> [f32; N_CHROMA] {
    let mut acc = [0f32; N_CHROMA];
    for f in frames {
        for (a, v) in acc.iter_mut().zip(f) {
            *a += if v.is_finite() { *v } else { 0.0 };
        }
    }
    let n = frames.len().max(1) as f32;
    acc.map(|a| a / n)
}

/// A chromagram: one column per frame (frames averaged when there are more than
/// `max_columns`), one row per pitch class with B at the top and C at the bottom, brightness
/// the chroma value. `None` for no frames.
pub fn chromagram_image(chroma: &[[f32; N_CHROMA]], max_columns: usize) -> Option<Image> {
    if chroma.is_empty() {
        return None;
    }
    let columns: Vec<[f32; N_CHROMA]> =
        cells(chroma.len(), max_columns).into_iter().map(|(a, b)| mean_frame(&chroma[a..b])).collect();
    let width = columns.len();
    let mut pixels = vec![0u8; width * N_CHROMA];
    for (x, col) in columns.iter().enumerate() {
        for (pc, v) in col.iter().enumerate() {
            let y = N_CHROMA - 1 - pc;
            pixels[y * width + x] = level(*v);
        }
    }
    Some(Image { width: u32::try_from(width).ok()?, height: N_CHROMA as u32, pixels })
}

/// A key-invariant self-similarity matrix of `chroma`, pooled to at most `max_cells` cells a
/// side: cell (i, j) is the best cosine similarity of pooled frames i and j over all 12
/// transpositions, so a passage repeated in another key shows as a diagonal stripe too. Returns
/// the row-major `n x n` matrix and `n`; silent cells are 0.
pub fn self_similarity(chroma: &[[f32; N_CHROMA]], max_cells: usize) -> (Vec<f32>, usize) {
    let pooled: Vec<[f32; N_CHROMA]> = cells(chroma.len(), max_cells)
        .into_iter()
        .map(|(a, b)| {
            let mut v = mean_frame(&chroma[a..b]);
            let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
            if norm > 1e-9 {
                v.iter_mut().for_each(|x| *x /= norm);
            }
            v
        })
        .collect();
    let n = pooled.len();
    let mut m = vec![0f32; n * n];
    for i in 0..n {
        for j in i..n {
            let mut best = 0f32;
            for shift in 0..N_CHROMA {
                let dot: f32 = (0..N_CHROMA).map(|k| pooled[i][k] * pooled[j][(k + shift) % N_CHROMA]).sum();
                best = best.max(dot);
            }
            m[i * n + j] = best;
            m[j * n + i] = best;
        }
    }
    (m, n)
}

/// The value at quantile `q` in [0, 1] of `values` (0 when empty).
fn quantile(values: &mut [f32], q: f64) -> f32 {
    if values.is_empty() {
        return 0.0;
    }
    values.sort_by(f32::total_cmp);
    let idx = ((values.len() - 1) as f64 * q.clamp(0.0, 1.0)).round() as usize;
    values[idx]
}

/// The self-similarity matrix of `chroma` as an image (time runs right and down). Chroma
/// vectors of music are all fairly alike, so the contrast is stretched from the median to the
/// 99th percentile of the off-diagonal similarities. `None` for no frames.
pub fn ssm_image(chroma: &[[f32; N_CHROMA]], max_cells: usize) -> Option<Image> {
    let (m, n) = self_similarity(chroma, max_cells);
    if n == 0 {
        return None;
    }
    let mut off: Vec<f32> =
        (0..n).flat_map(|i| (0..n).filter(move |&j| j != i).map(move |j| (i, j))).map(|(i, j)| m[i * n + j]).collect();
    let lo = quantile(&mut off, 0.5);
    let hi = quantile(&mut off, 0.99).max(lo + 1e-3);
    let pixels = m.iter().map(|&v| level((v - lo) / (hi - lo))).collect();
    let side = u32::try_from(n).ok()?;
    Some(Image { width: side, height: side, pixels })
}

/// Standard base64 (RFC 4648, with padding).
pub fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [chunk[0], chunk.get(1).copied().unwrap_or(0), chunk.get(2).copied().unwrap_or(0)];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// A `data:image/png;base64,...` URI of PNG bytes.
pub fn png_data_uri(png: &[u8]) -> String {
    format!("data:image/png;base64,{}", base64(png))
}

/// Writes the chromagram of `chroma` as a PNG file (atomically).
///
/// # Errors
/// [`Error::ImageEncode`] when there are no frames; [`Error::Write`] naming `path`.
pub fn write_chromagram_png(path: &Path, chroma: &[[f32; N_CHROMA]]) -> Result<()> {
    let empty = Image { width: 0, height: 0, pixels: Vec::new() };
    let image = chromagram_image(chroma, MAX_CHROMAGRAM_COLUMNS).unwrap_or(empty);
    write_atomic(path, &encode_png(&image, "chromagram")?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_matches_the_rfc_vectors() {
        let cases =
            [("", ""), ("f", "Zg=="), ("fo", "Zm8="), ("foo", "Zm9v"), ("foob", "Zm9vYg=="), ("foobar", "Zm9vYmFy")];
        for (plain, encoded) in cases {
            assert_eq!(base64(plain.as_bytes()), encoded);
        }
    }

    #[test]
    fn palette_runs_from_dark_to_bright() {
        let p = viridis_palette();
        assert_eq!(p.len(), 768);
        assert_eq!(&p[..3], &VIRIDIS[0]);
        assert_eq!(&p[765..], &VIRIDIS[8]);
    }

    #[test]
    fn chromagram_puts_c_at_the_bottom_and_pools_columns() {
        let mut frames = vec![[0f32; 12]; 10];
        frames.iter_mut().for_each(|f| f[0] = 1.0);
        let img = chromagram_image(&frames, 5).expect("an image");
        assert_eq!((img.width, img.height), (5, 12));
        assert!(img.pixels[11 * 5..].iter().all(|&p| p == 255));
        assert!(img.pixels[..11 * 5].iter().all(|&p| p == 0));
        assert!(chromagram_image(&[], 5).is_none());
        let png = encode_png(&img, "test").expect("encodes");
        assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
    }

    #[test]
    fn similarity_is_symmetric_and_key_invariant() {
        let c_major = {
            let mut f = [0f32; 12];
            f[0] = 1.0;
            f[4] = 0.8;
            f[7] = 0.9;
            f
        };
        let d_major: [f32; 12] = std::array::from_fn(|k| c_major[(k + 10) % 12]);
        let other = {
            let mut f = [0f32; 12];
            f[1] = 1.0;
            f[2] = 1.0;
            f
        };
        let (m, n) = self_similarity(&[c_major, other, d_major, [0.0; 12]], 10);
        assert_eq!(n, 4);
        for i in 0..n {
            for j in 0..n {
                assert_eq!(m[i * n + j], m[j * n + i]);
            }
        }
        assert!((m[2] - 1.0).abs() < 1e-5, "transposed chord is identical: {}", m[2]);
        assert!(m[1] < 0.9);
        assert_eq!(m[3], 0.0);
        let img = ssm_image(&[c_major, other, d_major], 10).expect("an image");
        assert_eq!((img.width, img.height), (3, 3));
    }
}
