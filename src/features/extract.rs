//! Streaming feature extraction: mono blocks -> decimation -> STFT -> tuned semitone spectrum ->
//! chroma and melody profiles.
//!
//! The calling thread pulls blocks from the [`SampleSource`] (which need not be `Send`), decimates
//! them to the lowest rate that still carries every bin the analysis reads (11.025 kHz for 44.1 kHz
//! input, see [`crate::features::decimate`]; frames stay defined in seconds) and cuts them into batches of
//! [`BATCH_FRAMES`] frames, copying the overlap between batches; rayon workers compute the power
//! spectra (and, once the tuning is known, the pitch profiles) while the calling thread goes on
//! decoding. Results are reassembled in frame order. Only a bounded number of batches is ever in
//! flight, and a batch is analysed on the calling thread when that bound is reached, so memory
//! stays flat however long the recording and no thread ever blocks waiting for another.
//!
//! Tuning: until [`FeatureConfig::tuning_span_s`] seconds of non-silent frames have been seen, their
//! power spectra (up to the highest bin the pitch mapping reads) are buffered and fed to a
//! [`TuningEstimator`]; then the tuned [`PitchMapper`] is built, the buffered frames are mapped, and
//! every later batch is mapped by the workers directly.

use std::collections::BTreeMap;
use std::sync::mpsc::{self, Receiver};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use rayon::prelude::*;

use super::chroma::{MapperScratch, MelodyConfig, N_CHROMA, OctaveWeight, PitchMapper, TuningEstimator};
use super::decimate::Decimator;
use super::peaks::{self, Peak, PeakConfig, SpectralPeaks};
use super::stft::{FrameGeometry, PowerStft, StftScratch};
use super::{BATCH_FRAMES, ENERGY_FLOOR_DB, ExtractStats, FeatureConfig, Features, Timings, Tuning};
use crate::error::{Error, Result};
use crate::source::SampleSource;

/// Extracts features from a stream of mono blocks.
///
/// # Errors
/// When the source fails, or the configuration is invalid.
pub fn extract(source: &mut dyn SampleSource, cfg: &FeatureConfig) -> Result<Features> {
    extract_timed(source, cfg).map(|(features, _)| features)
}

/// Extracts features and reports the samples processed and the time spent per stage.
///
/// # Errors
/// [`Error::BadParam`] when `cfg` is invalid or the sample rate cannot hold one window and hop;
/// any error of the source.
pub fn extract_timed(source: &mut dyn SampleSource, cfg: &FeatureConfig) -> Result<(Features, ExtractStats)> {
    let wall = Instant::now();
    cfg.validate()?;
    let sample_rate = source.sample_rate();
    // The band the analysis reads decides how far the stream can be decimated before the STFT.
    let full_rate = FrameGeometry::new(sample_rate, cfg.window_s, cfg.hop_s)?;
    let band_hz = bins_read(&full_rate, cfg) as f64 * full_rate.bin_hz();
    let mut decimator = Decimator::new(sample_rate, band_hz);
    let geometry = FrameGeometry::new(decimator.out_rate(), cfg.window_s, cfg.hop_s)?;
    let fixed_mapper = |cents: f32| PitchMapper::new(&geometry, cfg.chroma_midi, cfg.octave_weight, &cfg.melody, cents);
    let n_keep = bins_read(&geometry, cfg);
    let shared = Shared {
        stft: PowerStft::new(geometry),
        geometry,
        n_keep,
        silence_db: cfg.silence_db,
        peaks: cfg.peaks.clone(),
        pool: Mutex::new(Vec::new()),
        spectra: Mutex::new(Vec::new()),
    };
    let mut collector = Collector::new(cfg, geometry, n_keep);
    if let Tuning::Fixed(cents) = cfg.tuning {
        collector.set_mapper(Arc::new(fixed_mapper(cents)), cents);
    }
    let (tx, rx) = mpsc::channel::<BatchOut>();
    let mut reader = Reader::new(geometry);
    let max_in_flight = 2 * rayon::current_num_threads() + 2;
    let mut free: Vec<Vec<f32>> = Vec::new();
    let mut input_samples = 0u64;

    let streamed: Result<()> = rayon::in_place_scope(|scope| {
        let mut in_flight = 0usize;
        loop {
            let waited = Instant::now();
            let block = source.next_block()?;
            collector.timings.decode += waited.elapsed();
            let decimating = Instant::now();
            let (decimated, done) = match block {
                Some(samples) => {
                    input_samples += samples.len() as u64;
                    (decimator.push(samples), false)
                }
                None => (decimator.finish(), true),
            };
            collector.timings.decimate += decimating.elapsed();
            reader.push(decimated);
            while let Some(batch) = reader.next_batch(done, &mut free) {
                for out in rx.try_iter() {
                    in_flight -= 1;
                    recycle(&mut free, collector.accept(out, &shared)?, max_in_flight);
                }
                let mapper = collector.mapper.clone();
                if in_flight >= max_in_flight {
                    // Back-pressure: analysing here keeps memory bounded without ever blocking.
                    let out = analyse_batch(&shared, batch, mapper.as_deref());
                    recycle(&mut free, collector.accept(out, &shared)?, max_in_flight);
                } else {
                    in_flight += 1;
                    let (tx, shared) = (tx.clone(), &shared);
                    scope.spawn(move |_| {
                        // The receiver outlives the scope, so sending cannot fail.
                        let _ = tx.send(analyse_batch(shared, batch, mapper.as_deref()));
                    });
                }
            }
            if done {
                return Ok(());
            }
        }
    });
    drop(tx);
    streamed?;
    drain(&rx, &mut collector, &shared)?;
    let (features, mut stats) = collector.finish(cfg, input_samples)?;
    stats.sample_rate = sample_rate;
    stats.timings.total = wall.elapsed();
    Ok((features, stats))
}

/// Bins `0..n` of a power spectrum of `geometry` are all the tuning estimator and the pitch
/// mapping (tuned up by the most allowed) ever read.
fn bins_read(geometry: &FrameGeometry, cfg: &FeatureConfig) -> usize {
    let mapper = PitchMapper::new(geometry, cfg.chroma_midi, cfg.octave_weight, &cfg.melody, 50.0);
    mapper.bins_used().max(TuningEstimator::new(geometry).bins_used()).min(geometry.n_bins())
}

fn drain(rx: &Receiver<BatchOut>, collector: &mut Collector, shared: &Shared) -> Result<()> {
    for out in rx.try_iter() {
        collector.accept(out, shared)?;
    }
    Ok(())
}

fn recycle(free: &mut Vec<Vec<f32>>, buffer: Vec<f32>, max: usize) {
    if free.len() <= max {
        free.push(buffer);
    }
}

/// Samples of consecutive frames, with the overlap between batches copied in.
struct Batch {
    index: usize,
    first_frame: usize,
    n_frames: usize,
    samples: Vec<f32>,
}

/// Cuts the incoming blocks into batches, holding only the samples the next batch needs.
struct Reader {
    geometry: FrameGeometry,
    /// Samples from absolute index `base` on.
    pending: Vec<f32>,
    base: i64,
    total: u64,
    next_frame: usize,
    next_index: usize,
}

impl Reader {
    fn new(geometry: FrameGeometry) -> Self {
        Self { geometry, pending: Vec::new(), base: 0, total: 0, next_frame: 0, next_index: 0 }
    }

    fn push(&mut self, block: &[f32]) {
        // Drop what no future frame reads; once per block keeps the cost linear in the input.
        let unused = (self.geometry.start(self.next_frame) - self.base).clamp(0, self.pending.len() as i64);
        self.pending.drain(..unused as usize);
        self.base += unused;
        // Finite: sources promise it (the decoder scrubs what a file holds), and the decimator
        // keeps it.
        self.pending.extend_from_slice(block);
        self.total += block.len() as u64;
    }

    /// The next batch whose frames are all complete (at the end, whatever frames remain).
    fn next_batch(&mut self, done: bool, free: &mut Vec<Vec<f32>>) -> Option<Batch> {
        let g = &self.geometry;
        let k0 = self.next_frame;
        let k1 = if done {
            let n = g.frame_count(self.total);
            (k0 < n).then(|| n.min(k0 + BATCH_FRAMES))?
        } else {
            let last = k0 + BATCH_FRAMES - 1;
            (g.start(last) + g.n_win() as i64 <= self.total as i64).then_some(k0 + BATCH_FRAMES)?
        };
        let (a, b) = (g.start(k0), g.start(k1 - 1) + g.n_win() as i64);
        let mut samples = free.pop().unwrap_or_default();
        samples.clear();
        // Zeros only where the frames reach before the start or past the end of the signal.
        let (lo, hi) = (a.max(self.base), b.min(self.base + self.pending.len() as i64));
        if lo < hi {
            samples.resize((lo - a) as usize, 0.0);
            samples.extend_from_slice(&self.pending[(lo - self.base) as usize..(hi - self.base) as usize]);
        }
        samples.resize((b - a) as usize, 0.0);
        let batch = Batch { index: self.next_index, first_frame: k0, n_frames: k1 - k0, samples };
        self.next_index += 1;
        self.next_frame = k1;
        Some(batch)
    }
}

/// Read-only state shared by the workers of one extraction.
struct Shared {
    stft: PowerStft,
    geometry: FrameGeometry,
    n_keep: usize,
    silence_db: f32,
    peaks: Option<PeakConfig>,
    /// Buffers returned by finished batches, so threads allocate only while warming up.
    pool: Mutex<Vec<Workspace>>,
    /// Spectra buffers of batches the collector has taken in, for the next batches to fill.
    spectra: Mutex<Vec<Vec<f32>>>,
}

struct Workspace {
    stft: StftScratch,
    /// Power spectra of a batch whose profiles are mapped right away (`n_keep` bins a frame).
    spectra: Vec<f32>,
    mapper: MapperScratch,
    peaks: Vec<Peak>,
}

/// Profiles of a batch: mapped by the worker, or raw spectra while the tuning is unknown.
enum Profiles {
    Mapped { chroma: Vec<[f32; N_CHROMA]>, melody: Vec<[f32; N_CHROMA]> },
    Spectra(Vec<f32>),
}

struct Analysed {
    first_frame: usize,
    energy_db: Vec<f32>,
    silent: Vec<bool>,
    profiles: Profiles,
    /// Peaks of the batch's frames, with each frame's count (empty when not asked for).
    peaks: Vec<Peak>,
    peak_counts: Vec<u32>,
}

struct BatchOut {
    index: usize,
    result: Result<Analysed>,
    samples: Vec<f32>,
    fft: Duration,
    mapping: Duration,
}

fn analyse_batch(shared: &Shared, batch: Batch, mapper: Option<&PitchMapper>) -> BatchOut {
    let mut ws = shared.pool.lock().unwrap_or_else(PoisonError::into_inner).pop().unwrap_or_else(|| Workspace {
        stft: shared.stft.scratch(),
        spectra: Vec::new(),
        mapper: MapperScratch::default(),
        peaks: Vec::new(),
    });
    let (mut fft, mut mapping) = (Duration::ZERO, Duration::ZERO);
    let result = analyse_frames(shared, &batch, mapper, &mut ws, &mut fft, &mut mapping);
    shared.pool.lock().unwrap_or_else(PoisonError::into_inner).push(ws);
    BatchOut { index: batch.index, result, samples: batch.samples, fft, mapping }
}

fn analyse_frames(
    shared: &Shared,
    batch: &Batch,
    mapper: Option<&PitchMapper>,
    ws: &mut Workspace,
    fft: &mut Duration,
    mapping: &mut Duration,
) -> Result<Analysed> {
    let g = &shared.geometry;
    let n = batch.n_frames;
    let origin = g.start(batch.first_frame);
    let mut energy_db = Vec::with_capacity(n);
    let mut silent = Vec::with_capacity(n);
    // All spectra first, then all profiles: two clock readings per stage and batch, not per
    // frame. Spectra of a batch that cannot be mapped yet leave with it.
    let mut spectra = match mapper {
        Some(_) => std::mem::take(&mut ws.spectra),
        None => shared.spectra.lock().unwrap_or_else(PoisonError::into_inner).pop().unwrap_or_default(),
    };
    spectra.clear();
    spectra.resize(n * shared.n_keep, 0.0);
    let t = Instant::now();
    for (i, power) in spectra.chunks_exact_mut(shared.n_keep).enumerate() {
        let offset = (g.start(batch.first_frame + i) - origin) as usize;
        let frame = &batch.samples[offset..offset + g.n_win()];
        let db = energy_db_of(shared.stft.power(frame, &mut ws.stft, power)?);
        energy_db.push(db);
        silent.push(db < shared.silence_db);
    }
    let (mut peaks, mut peak_counts) = (Vec::new(), Vec::new());
    if let Some(cfg) = &shared.peaks {
        let bin_hz = g.bin_hz();
        for (power, &is_silent) in spectra.chunks_exact(shared.n_keep).zip(&silent) {
            if is_silent {
                ws.peaks.clear();
            } else {
                peaks::pick(power, bin_hz, cfg, &mut ws.peaks);
            }
            peaks.extend_from_slice(&ws.peaks);
            peak_counts.push(ws.peaks.len() as u32);
        }
    }
    let mapped = Instant::now();
    *fft += mapped - t;
    let profiles = match mapper {
        Some(m) => {
            let (mut chroma, mut melody) = (Vec::with_capacity(n), Vec::with_capacity(n));
            for (power, &is_silent) in spectra.chunks_exact(shared.n_keep).zip(&silent) {
                let (c, p) = if is_silent { ([0.0; N_CHROMA], [0.0; N_CHROMA]) } else { m.map(power, &mut ws.mapper) };
                chroma.push(c);
                melody.push(p);
            }
            ws.spectra = spectra;
            *mapping += mapped.elapsed();
            Profiles::Mapped { chroma, melody }
        }
        None => Profiles::Spectra(spectra),
    };
    Ok(Analysed { first_frame: batch.first_frame, energy_db, silent, profiles, peaks, peak_counts })
}

/// Mean square to dBFS, floored at [`ENERGY_FLOOR_DB`] (never NaN or -inf).
fn energy_db_of(mean_square: f64) -> f32 {
    let db = 10.0 * mean_square.log10();
    if db.is_nan() { ENERGY_FLOOR_DB } else { (db as f32).max(ENERGY_FLOOR_DB) }
}

/// Reassembles batch results in frame order and runs the tuning stage.
struct Collector {
    geometry: FrameGeometry,
    n_keep: usize,
    chroma_midi: (u8, u8),
    octave_weight: Option<OctaveWeight>,
    melody_cfg: MelodyConfig,
    span_frames: usize,
    mapper: Option<Arc<PitchMapper>>,
    tuning_cents: f32,
    estimator: TuningEstimator,
    /// Spectra (`n_keep` bins each) of the non-silent frames awaiting the tuning, and their frames.
    buffered: Vec<f32>,
    buffered_frames: Vec<usize>,
    waiting: BTreeMap<usize, BatchOut>,
    next_index: usize,
    scratch: MapperScratch,
    timings: Timings,
    energy_db: Vec<f32>,
    chroma: Vec<[f32; N_CHROMA]>,
    melody: Vec<[f32; N_CHROMA]>,
    peaks: SpectralPeaks,
}

impl Collector {
    fn new(cfg: &FeatureConfig, geometry: FrameGeometry, n_keep: usize) -> Self {
        Self {
            geometry,
            n_keep,
            chroma_midi: cfg.chroma_midi,
            octave_weight: cfg.octave_weight,
            melody_cfg: cfg.melody.clone(),
            span_frames: ((cfg.tuning_span_s / cfg.hop_s).ceil() as usize).max(1),
            mapper: None,
            tuning_cents: 0.0,
            estimator: TuningEstimator::new(&geometry),
            buffered: Vec::new(),
            buffered_frames: Vec::new(),
            waiting: BTreeMap::new(),
            next_index: 0,
            scratch: MapperScratch::default(),
            timings: Timings::default(),
            energy_db: Vec::new(),
            chroma: Vec::new(),
            melody: Vec::new(),
            peaks: SpectralPeaks::default(),
        }
    }

    fn set_mapper(&mut self, mapper: Arc<PitchMapper>, cents: f32) {
        self.scratch = mapper.scratch();
        self.mapper = Some(mapper);
        self.tuning_cents = cents;
    }

    /// Takes one finished batch (in any order) and processes every batch now in sequence.
    /// Returns the batch's sample buffer for reuse.
    fn accept(&mut self, mut out: BatchOut, shared: &Shared) -> Result<Vec<f32>> {
        self.timings.fft += out.fft;
        self.timings.mapping += out.mapping;
        let samples = std::mem::take(&mut out.samples);
        self.waiting.insert(out.index, out);
        while let Some(next) = self.waiting.remove(&self.next_index) {
            self.next_index += 1;
            if let Some(spent) = self.take_in_order(next.result?) {
                shared.spectra.lock().unwrap_or_else(PoisonError::into_inner).push(spent);
            }
        }
        Ok(samples)
    }

    /// Returns the batch's spectra buffer, once read, for reuse.
    fn take_in_order(&mut self, batch: Analysed) -> Option<Vec<f32>> {
        debug_assert_eq!(batch.first_frame, self.energy_db.len());
        self.energy_db.extend_from_slice(&batch.energy_db);
        let mut at = 0usize;
        for &n in &batch.peak_counts {
            self.peaks.push_frame(&batch.peaks[at..at + n as usize]);
            at += n as usize;
        }
        match batch.profiles {
            Profiles::Mapped { chroma, melody } => {
                self.chroma.extend(chroma);
                self.melody.extend(melody);
            }
            Profiles::Spectra(spectra) => {
                for (i, spectrum) in spectra.chunks_exact(self.n_keep).enumerate() {
                    let frame = batch.first_frame + i;
                    let (c, m) = if batch.silent[i] {
                        ([0.0; N_CHROMA], [0.0; N_CHROMA])
                    } else if let Some(mapper) = &self.mapper {
                        // Spawned before the tuning was known: map it here.
                        let t = Instant::now();
                        let profiles = mapper.map(spectrum, &mut self.scratch);
                        self.timings.mapping += t.elapsed();
                        profiles
                    } else {
                        let t = Instant::now();
                        self.estimator.add_frame(spectrum);
                        if self.buffered.is_empty() {
                            // Filled once, up to the span: no reallocation on the way.
                            self.buffered.reserve_exact(self.span_frames * self.n_keep);
                        }
                        self.buffered.extend_from_slice(spectrum);
                        self.buffered_frames.push(frame);
                        self.timings.mapping += t.elapsed();
                        ([0.0; N_CHROMA], [0.0; N_CHROMA])
                    };
                    self.chroma.push(c);
                    self.melody.push(m);
                    if self.mapper.is_none() && self.buffered_frames.len() >= self.span_frames {
                        self.settle_tuning();
                    }
                }
                return Some(spectra);
            }
        }
        None
    }

    /// Fixes the tuning from the evidence so far, builds the mapper and maps the buffered frames.
    fn settle_tuning(&mut self) {
        let t = Instant::now();
        let cents = self.estimator.estimate().unwrap_or(0.0);
        let mapper =
            Arc::new(PitchMapper::new(&self.geometry, self.chroma_midi, self.octave_weight, &self.melody_cfg, cents));
        let mapped: Vec<([f32; N_CHROMA], [f32; N_CHROMA])> = self
            .buffered
            .par_chunks_exact(self.n_keep)
            .map_init(|| mapper.scratch(), |scratch, spectrum| mapper.map(spectrum, scratch))
            .collect();
        for (&frame, (c, m)) in self.buffered_frames.iter().zip(mapped) {
            self.chroma[frame] = c;
            self.melody[frame] = m;
        }
        self.buffered = Vec::new();
        self.buffered_frames = Vec::new();
        self.set_mapper(mapper, cents);
        self.timings.mapping += t.elapsed();
    }

    fn finish(mut self, cfg: &FeatureConfig, samples: u64) -> Result<(Features, ExtractStats)> {
        if !self.waiting.is_empty() {
            return Err(Error::bad_param("batch sequence", self.next_index, "every batch to be analysed"));
        }
        if self.mapper.is_none() {
            self.settle_tuning();
        }
        let frames = self.energy_db.len();
        let features = Features {
            hop_s: cfg.hop_s,
            tuning_cents: self.tuning_cents,
            chroma: self.chroma,
            melody: self.melody,
            energy_db: self.energy_db,
            peaks: self.peaks,
        };
        let stats = ExtractStats { samples, sample_rate: 0, frames, timings: self.timings };
        Ok((features, stats))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::MemorySource;

    fn sine(hz: f64, sr: u32, seconds: f64, amp: f32) -> Vec<f32> {
        let n = (seconds * f64::from(sr)) as usize;
        (0..n).map(|i| amp * (std::f64::consts::TAU * hz * i as f64 / f64::from(sr)).sin() as f32).collect()
    }

    #[test]
    fn block_size_does_not_change_the_result() -> Result<()> {
        let x = sine(440.0, 8000, 20.0, 0.5);
        let cfg = FeatureConfig { tuning_span_s: 3.0, ..FeatureConfig::default() };
        let whole = extract(&mut MemorySource::with_block(x.clone(), 8000, x.len()), &cfg)?;
        for block in [1usize, 37, 4096] {
            let f = extract(&mut MemorySource::with_block(x.clone(), 8000, block), &cfg)?;
            assert_eq!(f, whole, "block size {block}");
        }
        assert_eq!(whole.chroma.len(), 201);
        Ok(())
    }

    #[test]
    fn decimated_streams_do_not_depend_on_block_size() -> Result<()> {
        // 44.1 kHz is analysed at 11.025 kHz: the decimator carries its state across blocks.
        let x: Vec<f32> =
            sine(440.0, 44_100, 6.0, 0.3).iter().zip(sine(3_000.0, 44_100, 6.0, 0.2)).map(|(a, b)| a + b).collect();
        let cfg = FeatureConfig { tuning_span_s: 2.0, ..FeatureConfig::default() };
        let (whole, stats) = extract_timed(&mut MemorySource::with_block(x.clone(), 44_100, x.len()), &cfg)?;
        assert_eq!((stats.samples, stats.sample_rate), (x.len() as u64, 44_100));
        assert_eq!(whole.chroma.len(), 61);
        for block in [1usize, 37, 1152] {
            let f = extract(&mut MemorySource::with_block(x.clone(), 44_100, block), &cfg)?;
            assert_eq!(f, whole, "block size {block}");
        }
        Ok(())
    }

    #[test]
    fn tones_above_the_band_do_not_alias_into_the_chroma() -> Result<()> {
        // 8388 Hz would fold onto E7 (2637 Hz) at 11.025 kHz and 19413 Hz onto E7 at 22.05 kHz;
        // each is ten times louder than the A4 under it.
        let sr = 44_100;
        let a4 = sine(440.0, sr, 4.0, 0.05);
        let cfg = FeatureConfig::default();
        let clean = extract(&mut MemorySource::new(a4.clone(), sr), &cfg)?;
        for hz in [8_388.0, 19_413.0] {
            let x: Vec<f32> = a4.iter().zip(sine(hz, sr, 4.0, 0.5)).map(|(a, b)| a + b).collect();
            let f = extract(&mut MemorySource::new(x, sr), &cfg)?;
            for (k, (got, want)) in f.chroma.iter().zip(&clean.chroma).enumerate().skip(2).take(30) {
                let diff = got.iter().zip(want).map(|(a, b)| (a - b).abs()).fold(0.0f32, f32::max);
                assert!(diff < 0.01, "{hz} Hz, frame {k}: {got:?} vs {want:?}");
            }
        }
        Ok(())
    }

    #[test]
    fn buffered_frames_are_mapped_like_later_ones() -> Result<()> {
        // A sharp tone with a silent gap: the tuning settles after 2 s of sound, mid-stream, while
        // later batches are in flight; every frame must come out as with that tuning fixed.
        let mut x = sine(447.7, 16_000, 40.0, 0.4);
        x[16_000..32_000].fill(0.0);
        let cfg = FeatureConfig { tuning_span_s: 2.0, ..FeatureConfig::default() };
        let estimated = extract(&mut MemorySource::with_block(x.clone(), 16_000, 1000), &cfg)?;
        assert!((estimated.tuning_cents - 30.0).abs() < 5.0, "{}", estimated.tuning_cents);
        let fixed_cfg = FeatureConfig { tuning: Tuning::Fixed(estimated.tuning_cents), ..cfg };
        let fixed = extract(&mut MemorySource::new(x, 16_000), &fixed_cfg)?;
        assert_eq!(estimated, fixed);
        assert_eq!(estimated.chroma[15], [0.0; 12]);
        assert!(estimated.chroma[5][9] == 1.0 && estimated.chroma[350][9] == 1.0);
        Ok(())
    }

    #[test]
    fn energy_is_rms_in_dbfs() -> Result<()> {
        let f = extract(&mut MemorySource::new(sine(1000.0, 16_000, 2.0, 1.0), 16_000), &FeatureConfig::default())?;
        // A full-scale sine has RMS 1/sqrt(2): -3.01 dBFS.
        assert!((f.energy_db[10] + 3.01).abs() < 0.05, "{}", f.energy_db[10]);
        let silent = extract(&mut MemorySource::new(vec![0.0; 16_000], 16_000), &FeatureConfig::default())?;
        assert!(silent.energy_db.iter().all(|&d| d == ENERGY_FLOOR_DB));
        Ok(())
    }

    #[test]
    fn empty_input_gives_no_frames() -> Result<()> {
        let (f, stats) = extract_timed(&mut MemorySource::new(Vec::new(), 44_100), &FeatureConfig::default())?;
        assert!(f.chroma.is_empty() && f.melody.is_empty() && f.energy_db.is_empty());
        assert_eq!((stats.samples, stats.frames), (0, 0));
        Ok(())
    }
}
