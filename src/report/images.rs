//! Pictures of features for people: chromagrams and self-similarity matrices as small indexed
//! PNG images (viridis colours) and `data:` URIs so an HTML report can hold them inline, and
//! chromagram figures to read on their own (labelled rows, a time axis, a colour scale).

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
    encode(image.width, image.height, png::ColorType::Indexed, Some(viridis_palette()), &image.pixels, what)
}

/// A PNG of 8-bit samples in `colour`, with `palette` for indexed colour.
fn encode(
    width: u32,
    height: u32,
    colour: png::ColorType,
    palette: Option<Vec<u8>>,
    data: &[u8],
    what: &'static str,
) -> Result<Vec<u8>> {
    let wrap = |source| Error::ImageEncode { what, source };
    let mut out = Vec::new();
    let mut encoder = png::Encoder::new(&mut out, width, height);
    encoder.set_color(colour);
    encoder.set_depth(png::BitDepth::Eight);
    if let Some(palette) = palette {
        encoder.set_palette(palette);
    }
    let mut writer = encoder.write_header().map_err(wrap)?;
    writer.write_image_data(data).map_err(wrap)?;
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
pub fn write_chromagram_png(path: &Path, chroma: &[[f32; N_CHROMA]], hop_s: f64) -> Result<()> {
    let figure = chromagram_figure(chroma, hop_s, MAX_CHROMAGRAM_COLUMNS);
    write_atomic(path, &encode_rgb_png(&figure, "chromagram")?)
}

/// An 8-bit RGB image, row by row from the top.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RgbImage {
    /// Pixels per row.
    pub width: u32,
    /// Rows.
    pub height: u32,
    /// `width * height` RGB triples.
    pub pixels: Vec<[u8; 3]>,
}

impl RgbImage {
    fn new(width: usize, height: usize, fill: [u8; 3]) -> Self {
        Self { width: width as u32, height: height as u32, pixels: vec![fill; width * height] }
    }

    fn set(&mut self, x: usize, y: usize, colour: [u8; 3]) {
        if x < self.width as usize && y < self.height as usize {
            self.pixels[y * self.width as usize + x] = colour;
        }
    }

    /// `text` in the 3 x 5 pixel font scaled by [`GLYPH_SCALE`], its top left at (x, y). A `#`
    /// is drawn small and raised, as a sharp sign: at full size it reads as an H.
    fn text(&mut self, x: usize, y: usize, text: &str, colour: [u8; 3]) {
        for (i, c) in text.chars().enumerate() {
            let scale = if c == '#' { 1 } else { GLYPH_SCALE };
            for (gy, bits) in glyph(c).iter().enumerate() {
                for gx in 0..3 {
                    if bits & (4 >> gx) == 0 {
                        continue;
                    }
                    for dy in 0..scale {
                        for dx in 0..scale {
                            self.set(x + i * GLYPH_ADVANCE + gx * scale + dx, y + gy * scale + dy, colour);
                        }
                    }
                }
            }
        }
    }
}

/// Encodes `image` as an RGB PNG.
///
/// # Errors
/// [`Error::ImageEncode`] when the image is empty or its pixel count does not match its size.
pub fn encode_rgb_png(image: &RgbImage, what: &'static str) -> Result<Vec<u8>> {
    encode(image.width, image.height, png::ColorType::Rgb, None, image.pixels.as_flattened(), what)
}

/// Each pixel of the 3 x 5 font is drawn as a square this many pixels wide.
const GLYPH_SCALE: usize = 2;
/// Pixels from one character to the next.
const GLYPH_ADVANCE: usize = 4 * GLYPH_SCALE;
/// Height of a line of text, pixels.
const GLYPH_HEIGHT: usize = 5 * GLYPH_SCALE;
/// Height of one pitch-class row of a chromagram figure, pixels.
const ROW_HEIGHT: usize = 12;
/// Narrowest plot of a chromagram figure, pixels: short files get wider columns.
const MIN_PLOT_WIDTH: usize = 600;
/// Least distance between two time ticks, pixels.
const MIN_TICK_SPACING: usize = 90;

const WHITE: [u8; 3] = [255, 255, 255];
const INK: [u8; 3] = [40, 40, 40];

/// The 3 x 5 pixel glyph of `c` (each row three bits, left to right); unknown characters are
/// blank.
fn glyph(c: char) -> [u8; 5] {
    match c {
        '0' => [7, 5, 5, 5, 7],
        '1' => [2, 6, 2, 2, 7],
        '2' => [7, 1, 7, 4, 7],
        '3' => [7, 1, 7, 1, 7],
        '4' => [5, 5, 7, 1, 1],
        '5' => [7, 4, 7, 1, 7],
        '6' => [7, 4, 7, 5, 7],
        '7' => [7, 1, 1, 1, 1],
        '8' => [7, 5, 7, 5, 7],
        '9' => [7, 5, 7, 1, 7],
        ':' => [0, 2, 0, 2, 0],
        'A' => [2, 5, 7, 5, 5],
        'B' => [6, 5, 6, 5, 6],
        'C' => [7, 4, 4, 4, 7],
        'D' => [6, 5, 5, 5, 6],
        'E' => [7, 4, 6, 4, 7],
        'F' => [7, 4, 6, 4, 4],
        'G' => [7, 4, 5, 5, 7],
        '#' => [5, 7, 5, 7, 5],
        _ => [0; 5],
    }
}

/// A chromagram to read on its own: pitch classes as labelled rows (C at the bottom), time
/// along the bottom in m:ss, and a colour scale from 0 to 1 on the right. Frames are averaged
/// into at most `max_columns` columns; short files get wider columns.
pub fn chromagram_figure(chroma: &[[f32; N_CHROMA]], hop_s: f64, max_columns: usize) -> RgbImage {
    const NAMES: [&str; N_CHROMA] = ["C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B"];
    let palette = viridis_palette();
    let colour = |v: f32| {
        let i = usize::from(level(v)) * 3;
        [palette[i], palette[i + 1], palette[i + 2]]
    };
    let cols = cells(chroma.len(), max_columns);
    let col_px = MIN_PLOT_WIDTH.div_ceil(cols.len().max(1)).clamp(1, 8);
    let plot_w = (cols.len() * col_px).max(1);
    let plot_h = N_CHROMA * ROW_HEIGHT;
    let (left, top) = (2 * GLYPH_ADVANCE + 6, GLYPH_HEIGHT / 2 + 2);
    let bottom = 4 + GLYPH_HEIGHT + 4;
    let bar_x = left + plot_w + 10;
    let width = bar_x + 10 + 4 + GLYPH_ADVANCE + 2;
    let height = top + plot_h + bottom;
    let mut img = RgbImage::new(width, height, WHITE);
    for (c, &(a, b)) in cols.iter().enumerate() {
        let frame = mean_frame(&chroma[a..b]);
        for (pc, v) in frame.iter().enumerate() {
            let y0 = top + (N_CHROMA - 1 - pc) * ROW_HEIGHT;
            for y in y0..y0 + ROW_HEIGHT {
                for x in 0..col_px {
                    img.set(left + c * col_px + x, y, colour(*v));
                }
            }
        }
    }
    for (pc, name) in NAMES.iter().enumerate() {
        let y = top + (N_CHROMA - 1 - pc) * ROW_HEIGHT + (ROW_HEIGHT - GLYPH_HEIGHT) / 2;
        img.text(2, y, name, INK);
    }
    // Time ticks: the shortest of the usual steps that keeps labels apart.
    let duration = chroma.len() as f64 * hop_s.max(0.0);
    if duration > 0.0 {
        let px_per_s = plot_w as f64 / duration;
        let steps = [1.0, 2.0, 5.0, 10.0, 15.0, 30.0, 60.0, 120.0, 300.0, 600.0, 900.0, 1800.0, 3600.0];
        let step = steps.iter().copied().find(|s| s * px_per_s >= MIN_TICK_SPACING as f64).unwrap_or(7200.0);
        let mut t = 0.0;
        while t <= duration {
            let x = left + (t * px_per_s).round() as usize;
            for y in top + plot_h..top + plot_h + 3 {
                img.set(x, y, INK);
            }
            let label = crate::units::format_clock(t);
            let half = label.len() * GLYPH_ADVANCE / 2;
            img.text(x.saturating_sub(half).max(left.saturating_sub(GLYPH_ADVANCE)), top + plot_h + 4, &label, INK);
            t += step;
        }
    }
    // The colour scale: 0 at the bottom, 1 at the top.
    for y in 0..plot_h {
        let v = 1.0 - y as f32 / (plot_h - 1) as f32;
        for x in bar_x..bar_x + 10 {
            img.set(x, top + y, colour(v));
        }
    }
    img.text(bar_x + 14, top, "1", INK);
    img.text(bar_x + 14, top + plot_h - GLYPH_HEIGHT, "0", INK);
    img
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
    fn chromagram_figures_have_labelled_rows_a_time_axis_and_a_scale() {
        // 90 s at 10 frames/s; pitch class A (9) sounds throughout.
        let mut frame = [0.0f32; N_CHROMA];
        frame[9] = 1.0;
        let fig = chromagram_figure(&vec![frame; 900], 0.1, MAX_CHROMAGRAM_COLUMNS);
        let (w, h) = (fig.width as usize, fig.height as usize);
        let at = |x: usize, y: usize| fig.pixels[y * w + x];
        let left = 2 * GLYPH_ADVANCE + 6;
        let top = GLYPH_HEIGHT / 2 + 2;
        let plot_h = N_CHROMA * ROW_HEIGHT;
        assert_eq!(h, top + plot_h + 4 + GLYPH_HEIGHT + 4);
        // The A row is the brightest viridis colour, the C row the darkest.
        let palette = viridis_palette();
        let row_centre = |pc: usize| top + (N_CHROMA - 1 - pc) * ROW_HEIGHT + ROW_HEIGHT / 2;
        assert_eq!(at(left + 300, row_centre(9)), [palette[765], palette[766], palette[767]]);
        assert_eq!(at(left + 300, row_centre(0)), [palette[0], palette[1], palette[2]]);
        // Ink in the label column beside each row and under the plot (tick labels), none above.
        let ink_in = |xs: std::ops::Range<usize>, ys: std::ops::Range<usize>| {
            xs.flat_map(|x| ys.clone().map(move |y| (x, y))).any(|(x, y)| at(x, y) == INK)
        };
        for pc in 0..N_CHROMA {
            let y = row_centre(pc) - ROW_HEIGHT / 2;
            assert!(ink_in(0..left, y..y + ROW_HEIGHT), "no label for pitch class {pc}");
        }
        assert!(ink_in(left..left + 600, top + plot_h..h), "no time axis");
        // 90 s over the plot width: labels 0:00, 0:30, 1:00 need a 30 s step at 600 pixels.
        assert_eq!(crate::units::format_clock(90.0), "1:30");
        assert_eq!(crate::units::format_clock(3725.0), "1:02:05");
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
