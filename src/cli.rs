//! The command line: clap's `Cli` with one subcommand per contract command, turned into the
//! library's plain config structs, plus printing of documents and summaries.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Result;
use clap::{Args, CommandFactory, Parser, Subcommand, ValueEnum};
use leitmotif::Error;
use leitmotif::cache::FeatureCache;
use leitmotif::cues::CueConfig;
use leitmotif::eval;
use leitmotif::export::{self, ChromaConfig, ChromaFormat, ChromaKind, ChromaLayout};
use leitmotif::features::FeatureConfig;
use leitmotif::interchange;
use leitmotif::library::Library;
use leitmotif::motif::MotifConfig;
use leitmotif::pipeline::{self, AnalyzeConfig, CuesConfig, FindConfig, QuerySpec};
use leitmotif::progress::{Hooks, Progress, StageClock, TerminalProgress};
use leitmotif::report::html::{CueHtmlInputs, HtmlInputs};
use leitmotif::report::output::{self, Destination};
use leitmotif::report::{self, ErrorEntry, html, json, text};
use leitmotif::track::Track;

/// Finds where the themes of a soundtrack recur.
///
/// Decodes audio files (FLAC, MP3, Ogg Vorbis, WAV, AAC/MP4, Matroska ...), extracts chroma
/// features, and finds melodic motifs that recur across and within tracks, whatever their key,
/// tempo or arrangement.
#[derive(Debug, Parser)]
#[command(name = "leitmotif", version, propagate_version = true, max_term_width = 100)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Discover motifs that recur across and within the given tracks.
    Analyze(AnalyzeArgs),
    /// Find every occurrence of one motif (a whole file or a span of it) in the given tracks.
    Find(FindArgs),
    /// Find where the given tracks play inside long episode audio (a cue sheet).
    Cues(CuesArgs),
    /// Write the chroma features of each file.
    Chroma(ChromaArgs),
    /// Score a report against ground truth; the last line is the F1 summary.
    Eval(EvalArgs),
    /// Keep a collection as a library: its features, pair matching, motifs and named themes.
    #[command(subcommand)]
    Index(IndexCommand),
    /// Name the themes of a library, or list them; `analyze --lib` then names its motifs.
    #[command(subcommand)]
    Themes(ThemesCommand),
    /// Print a shell completion script (e.g. `leitmotif completions bash > ~/.local/share/bash-completion/completions/leitmotif`).
    Completions(CompletionsArgs),
    /// Print the manual page in roff (e.g. `leitmotif man > leitmotif.1; man ./leitmotif.1`).
    Man,
}

/// Options of `completions`.
#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell to complete for.
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

/// Where documents go.
#[derive(Debug, Args)]
pub struct OutputArgs {
    /// Write the JSON document to FILE (`-` for standard output). Without it, a readable summary
    /// is printed.
    #[arg(long, value_name = "FILE")]
    pub json: Option<String>,
    /// Write a self-contained HTML summary to FILE (`-` for standard output).
    #[arg(long, value_name = "FILE")]
    pub html: Option<String>,
    /// Print no summary and no progress bar (errors are still reported on standard error).
    #[arg(long, short)]
    pub quiet: bool,
    /// Say on standard error what came from the cache (features, pair matching, the landmark index) and how long the run took.
    #[arg(long, short)]
    pub verbose: bool,
    #[command(flatten)]
    pub cache: CacheArgs,
}

/// Where decoded features are kept between runs.
#[derive(Debug, Args)]
pub struct CacheArgs {
    /// Keep decoded features (and, for `analyze`, each pair of tracks' matching and each motif's whole search; for `cues`, the tracks' landmark index) in DIR [default: the user's cache folder, e.g. ~/.cache/leitmotif].
    /// A second run over the same files (with other thresholds) then decodes nothing.
    #[arg(long, value_name = "DIR")]
    pub cache: Option<PathBuf>,
    /// Decode and match everything afresh; read and write no cache.
    #[arg(long, conflicts_with = "cache")]
    pub no_cache: bool,
}

impl CacheArgs {
    /// The cache to use, if any.
    fn open(&self) -> Option<Arc<FeatureCache>> {
        if self.no_cache {
            return None;
        }
        self.cache.clone().or_else(FeatureCache::default_dir).map(|dir| Arc::new(FeatureCache::new(dir)))
    }
}

/// Motifs in other tools' formats (`analyze` and `find`).
#[derive(Debug, Args)]
pub struct InterchangeArgs {
    /// Write an Audacity label track into DIR for each audio file with an occurrence
    /// (`<stem>.labels.txt`; files of the same name go under the folders that tell them apart).
    /// Labels read `motif 1 (+2, x1.10)`: motif number, key shift, tempo ratio.
    #[arg(long, value_name = "DIR")]
    pub labels: Option<PathBuf>,
    /// Write a JAMS document into DIR for each audio file with an occurrence (`<stem>.jams`,
    /// namespace `pattern_jku`, `pattern_id` = motif number from 1; `midi_pitch` encodes only
    /// the key shift, as 60 + shift).
    #[arg(long, value_name = "DIR")]
    pub jams: Option<PathBuf>,
}

/// The `index` subcommands.
#[derive(Debug, Subcommand)]
pub enum IndexCommand {
    /// Add files to a library (made if missing) and find the motifs of all its files. Only what
    /// is new is decoded and matched: the new files, and their pairs with the files already
    /// there. Stopped part way (Ctrl-C), the library stays as it was and a new run goes on
    /// from what the cache kept.
    Build(IndexBuildArgs),
}

/// Options of `index build`.
#[derive(Debug, Args)]
pub struct IndexBuildArgs {
    /// Audio files, or folders searched recursively, to add (none: the library's files again).
    #[arg(value_name = "PATH")]
    pub paths: Vec<PathBuf>,
    /// The library folder.
    #[arg(long, value_name = "LIB")]
    pub out: PathBuf,
    #[command(flatten)]
    pub motif: MotifArgs,
    /// Print no summary and no progress bar (errors are still reported on standard error).
    #[arg(long, short)]
    pub quiet: bool,
    /// Say on standard error what came from the cache and how long the run took.
    #[arg(long, short)]
    pub verbose: bool,
}

/// The `themes` subcommands.
#[derive(Debug, Subcommand)]
pub enum ThemesCommand {
    /// Name a motif of the library's last build (its number as `index build` printed it); the
    /// theme is the motif's first occurrence, and every later motif heard there takes the name.
    Name {
        /// The library folder.
        #[arg(value_name = "LIB")]
        lib: PathBuf,
        /// The motif's number, from 1.
        #[arg(value_name = "MOTIF")]
        motif: usize,
        /// The theme's name.
        #[arg(value_name = "NAME")]
        name: String,
    },
    /// List the named themes of a library.
    List {
        /// The library folder.
        #[arg(value_name = "LIB")]
        lib: PathBuf,
    },
}

/// The settings of motif discovery (`analyze`, `index build`).
#[derive(Debug, Args)]
pub struct MotifArgs {
    /// Shortest motif reported, in seconds.
    #[arg(long, allow_negative_numbers = true, value_name = "SECONDS", default_value_t = MotifConfig::default().min_len_s, value_parser = positive_seconds)]
    pub min_len: f64,
    /// Similarity in [0, 1] a recurrence must reach; lower finds more, and more false motifs.
    #[arg(long, allow_negative_numbers = true, value_name = "X", default_value_t = MotifConfig::default().threshold, value_parser = unit_interval)]
    pub threshold: f32,
    /// Report at most this many motifs (the most frequent first).
    #[arg(long, allow_negative_numbers = true, value_name = "N", default_value_t = MotifConfig::default().max_motifs, value_parser = at_least_one)]
    pub max_motifs: usize,
}

impl MotifArgs {
    fn config(&self) -> MotifConfig {
        MotifConfig {
            min_len_s: self.min_len,
            threshold: self.threshold,
            max_motifs: self.max_motifs,
            ..MotifConfig::default()
        }
    }
}

/// Options of `analyze`.
#[derive(Debug, Args)]
pub struct AnalyzeArgs {
    /// Audio files, or folders searched recursively for audio files.
    #[arg(required_unless_present = "lib", value_name = "PATH")]
    pub paths: Vec<PathBuf>,
    /// Analyse a library's files too (see `index build`), with its cache unless `--cache` or
    /// `--no-cache` says otherwise; motifs heard where a named theme is take its name.
    #[arg(long, value_name = "LIB")]
    pub lib: Option<PathBuf>,
    #[command(flatten)]
    pub motif: MotifArgs,
    #[command(flatten)]
    pub output: OutputArgs,
    #[command(flatten)]
    pub interchange: InterchangeArgs,
}

/// Options of `find`.
#[derive(Debug, Args)]
pub struct FindArgs {
    /// The motif: a whole file, or FILE@START-END with times as seconds, m:ss or h:mm:ss
    /// (e.g. `theme.flac@1:02-1:09.5`).
    #[arg(long, value_name = "FILE[@START-END]", value_parser = query_spec, required_unless_present = "theme")]
    pub query: Option<QuerySpec>,
    /// The motif: a theme named in the library of `--lib` (see `themes name`), at the place
    /// that defines it.
    #[arg(long, value_name = "NAME", requires = "lib", conflicts_with = "query")]
    pub theme: Option<String>,
    /// Audio files, or folders searched recursively, to search in.
    #[arg(required_unless_present = "lib", value_name = "PATH")]
    pub paths: Vec<PathBuf>,
    /// Search a library's files too (see `index build`), with its cache unless `--cache` or
    /// `--no-cache` says otherwise; the motif found carries the name of a theme it plays.
    #[arg(long, value_name = "LIB")]
    pub lib: Option<PathBuf>,
    /// Similarity in [0, 1] an occurrence must reach.
    #[arg(long, allow_negative_numbers = true, value_name = "X", default_value_t = MotifConfig::default().threshold, value_parser = unit_interval)]
    pub threshold: f32,
    #[command(flatten)]
    pub output: OutputArgs,
    #[command(flatten)]
    pub interchange: InterchangeArgs,
}

/// Options of `cues`.
#[derive(Debug, Args)]
#[command(after_help = "The values after --tracks run up to the next option or `--`; the episodes follow. \
    When no episode is given apart from them, a leading folder is the tracks and the rest are episodes, \
    or else the last value is the episode: `cues --tracks ost/ ep01.mkv ep02.mkv`, \
    `cues --tracks a.flac b.flac ep01.mkv`, `cues --tracks a.flac b.flac -- ep01.mkv ep02.mkv`. Options go before `--`: after it every value is an episode.")]
pub struct CuesArgs {
    /// The tracks (files, or folders searched recursively) to look for.
    #[arg(long, required_unless_present = "lib", num_args = 1.., value_name = "PATH")]
    pub tracks: Vec<PathBuf>,
    /// Look for a library's files too (see `index build`), with its cache unless `--cache` or
    /// `--no-cache` says otherwise; each cue lists the named themes it plays.
    #[arg(long, value_name = "LIB")]
    pub lib: Option<PathBuf>,
    /// Episode audio or video files (or folders) to search.
    #[arg(value_name = "EPISODE")]
    pub episodes: Vec<PathBuf>,
    /// Shortest cue reported, in seconds.
    #[arg(long, allow_negative_numbers = true, value_name = "SECONDS", default_value_t = CueConfig::default().min_len_s, value_parser = positive_seconds)]
    pub min_len: f64,
    /// How far, in [0, 1], a cue's mean similarity in its key must rise above that of unrelated audio towards a perfect match.
    #[arg(long, allow_negative_numbers = true, value_name = "X", default_value_t = CueConfig::default().threshold, value_parser = unit_interval)]
    pub threshold: f32,
    /// Write the cue sheet as CSV to FILE: cue number within its episode (from 1), episode, in,
    /// out and duration as hh:mm:ss.mmm, track title, artist, album, file, match kind, score.
    #[arg(long, value_name = "FILE")]
    pub csv: Option<PathBuf>,
    /// Write an Audacity label track into DIR for each episode with a cue
    /// (`<episode stem>.labels.txt`, labels `cue 1: Title`).
    #[arg(long, value_name = "DIR")]
    pub labels: Option<PathBuf>,
    #[command(flatten)]
    pub output: OutputArgs,
}

/// Output formats of `chroma`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FormatArg {
    /// One JSON document per file, frames inline.
    Json,
    /// CSV (time_s + 12 pitch classes) with a JSON sidecar.
    Csv,
    /// NumPy float32 array (frames x 12) with a JSON sidecar.
    Npy,
}

/// Options of `chroma`.
#[derive(Debug, Args)]
pub struct ChromaArgs {
    /// Audio files (folders are searched recursively).
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,
    /// Folder to write into (created when missing). Files are named `<stem>.chroma.<format>`.
    /// [default: `.`, unless only --png is given]
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Also (or, without --out, only) write a chromagram figure per file into DIR
    /// (`<stem>.chroma.png`: labelled pitch-class rows, C at the bottom; a time axis in m:ss; a
    /// colour scale from 0 to 1).
    #[arg(long, value_name = "DIR")]
    pub png: Option<PathBuf>,
    #[command(flatten)]
    pub cache: CacheArgs,
    /// Output format.
    #[arg(long, value_enum, default_value_t = FormatArg::Json)]
    pub format: FormatArg,
    /// Which frames: `chroma`, `cens` (chroma quantised and smoothed over 4.1 s, one frame a
    /// second, for matching across performances) or `melody` (the predominant-melody profile).
    #[arg(long, value_enum, default_value_t = KindArg::Chroma)]
    pub kind: KindArg,
    /// Array layout: `frame-major` (frames x 12) or `pitch-major` (12 x frames, librosa's
    /// convention), in .npy, CSV and the JSON `chroma` field.
    #[arg(long, value_enum, default_value_t = LayoutArg::FrameMajor)]
    pub layout: LayoutArg,
    /// Seconds between frames (the frame rate, 1 / hop, is written in the metadata).
    #[arg(long, allow_negative_numbers = true, value_name = "SECONDS", default_value_t = FeatureConfig::default().hop_s, value_parser = positive_seconds)]
    pub hop: f64,
    /// Print the time spent per stage (open, decode, features with their decimation, FFT and pitch
    /// mapping, write) and the speed relative to real time.
    #[arg(long)]
    pub timings: bool,
    /// Only decode each file to its end and say how long it is: compute and write nothing (a
    /// check that files are readable; with --timings, the decoding floor of the other commands).
    #[arg(long, conflicts_with_all = ["out", "png", "format", "kind", "layout", "hop"])]
    pub decode_only: bool,
    /// Print nothing but errors (and timings when asked).
    #[arg(long, short)]
    pub quiet: bool,
}

/// Frames `chroma` writes.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum KindArg {
    /// Chroma.
    Chroma,
    /// CENS.
    Cens,
    /// Predominant-melody profile.
    Melody,
}

/// Array layouts of `chroma`.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum LayoutArg {
    /// Frames x 12.
    FrameMajor,
    /// 12 x frames.
    PitchMajor,
}

/// Options of `eval`.
#[derive(Debug, Args)]
pub struct EvalArgs {
    /// Ground truth (`leitmotif.truth/1` or `leitmotif.cuetruth/1`).
    #[arg(long, value_name = "TRUTH.json")]
    pub truth: PathBuf,
    /// The document to score (`leitmotif.report/1` or `leitmotif.cues/1`).
    #[arg(value_name = "REPORT.json")]
    pub report: PathBuf,
}

fn positive_seconds(text: &str) -> std::result::Result<f64, String> {
    match text.parse::<f64>() {
        Ok(v) if v.is_finite() && v > 0.0 => Ok(v),
        _ => Err(format!("expected a positive number of seconds, got {text:?}")),
    }
}

fn unit_interval(text: &str) -> std::result::Result<f32, String> {
    match text.parse::<f32>() {
        Ok(v) if (0.0..=1.0).contains(&v) => Ok(v),
        _ => Err(format!("expected a number in [0, 1], got {text:?}")),
    }
}

fn at_least_one(text: &str) -> std::result::Result<usize, String> {
    match text.parse::<usize>() {
        Ok(v) if v >= 1 => Ok(v),
        _ => Err(format!("expected a whole number of at least 1, got {text:?}")),
    }
}

fn query_spec(text: &str) -> std::result::Result<QuerySpec, String> {
    text.parse().map_err(|e: Error| e.to_string())
}

/// Runs the parsed command line.
///
/// # Errors
/// The library's error when nothing could be analysed or written; printing errors.
pub fn execute(cli: Cli) -> Result<ExitCode> {
    match cli.command {
        Command::Analyze(mut a) => {
            check_outputs(&a.output, Some(&a.interchange))?;
            let t0 = Instant::now();
            let lib = open_library(a.lib.as_deref(), &mut a.output.cache)?;
            let (hooks, clock) = run_hooks(&a.output);
            let mut inputs = lib.as_ref().map(|l| l.files.clone()).unwrap_or_default();
            inputs.extend(a.paths.iter().cloned());
            let cfg = AnalyzeConfig {
                inputs,
                features: FeatureConfig::default(),
                motif: a.motif.config(),
                hooks: hooks.clone(),
            };
            let (mut report, tracks) = pipeline::analyze(&cfg)?;
            if let Some(lib) = &lib {
                lib.apply_names(&mut report);
            }
            drop(cfg);
            verbose_note(&a.output, &hooks, clock.as_deref(), t0);
            drop(hooks);
            write_interchange(&report, &a.interchange)?;
            emit_report(&report, &tracks, false, &a.output)
        }
        Command::Find(mut f) => {
            check_outputs(&f.output, Some(&f.interchange))?;
            let t0 = Instant::now();
            let lib = open_library(f.lib.as_deref(), &mut f.output.cache)?;
            let query = match (f.query, &f.theme, &lib) {
                (Some(query), _, _) => query,
                (None, Some(name), Some(lib)) => {
                    let theme = lib.theme(name)?;
                    QuerySpec { path: theme.path.clone(), span: Some((theme.start_s, theme.end_s)) }
                }
                // clap requires --query or --theme, and --lib with --theme.
                _ => return Err(Error::bad_param("--query", "none", "a query or a theme of --lib").into()),
            };
            let (hooks, clock) = run_hooks(&f.output);
            let mut inputs = lib.as_ref().map(|l| l.files.clone()).unwrap_or_default();
            inputs.extend(f.paths);
            let cfg = FindConfig {
                query,
                inputs,
                features: FeatureConfig::default(),
                motif: MotifConfig { threshold: f.threshold, ..MotifConfig::default() },
                hooks: hooks.clone(),
            };
            let (mut report, tracks) = pipeline::find(&cfg)?;
            if let Some(lib) = &lib {
                lib.apply_names(&mut report);
            }
            drop(cfg);
            verbose_note(&f.output, &hooks, clock.as_deref(), t0);
            drop(hooks);
            write_interchange(&report, &f.interchange)?;
            emit_report(&report, &tracks, true, &f.output)
        }
        Command::Cues(c) => run_cues(c),
        Command::Index(IndexCommand::Build(b)) => run_index_build(b),
        Command::Themes(t) => run_themes(t),
        Command::Chroma(c) => run_chroma(c),
        Command::Eval(e) => {
            let evaluation = eval::evaluate_files(&e.truth, &e.report)?;
            print_stdout(&evaluation.render())?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Completions(c) => {
            let mut script = Vec::new();
            clap_complete::generate(c.shell, &mut Cli::command(), "leitmotif", &mut script);
            print_stdout(&String::from_utf8_lossy(&script))?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Man => {
            let mut page = Vec::new();
            clap_mangen::Man::new(Cli::command()).render(&mut page)?;
            print_stdout(&String::from_utf8_lossy(&page))?;
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// The hooks of a run: the feature cache unless turned off, and a progress bar when standard
/// error is a terminal and the run is not quiet.
/// With `--verbose` the stages are also timed, for the note at the end: the clock is returned.
fn run_hooks(out: &OutputArgs) -> (Hooks, Option<Arc<StageClock>>) {
    let display = if out.quiet { None } else { terminal_progress() };
    if out.verbose {
        let clock = Arc::new(StageClock::new(display));
        let progress: Arc<dyn Progress> = clock.clone();
        (Hooks { cache: out.cache.open(), progress: Some(progress) }, Some(clock))
    } else {
        (Hooks { cache: out.cache.open(), progress: display }, None)
    }
}

fn terminal_progress() -> Option<Arc<dyn Progress>> {
    TerminalProgress::for_stderr().map(|p| Arc::new(p) as Arc<dyn Progress>)
}

/// With `--verbose`: what the feature cache did and the time taken, on standard error.
fn verbose_note(out: &OutputArgs, hooks: &Hooks, clock: Option<&StageClock>, t0: Instant) {
    if !out.verbose {
        return;
    }
    match &hooks.cache {
        Some(cache) => {
            let s = cache.stats();
            eprintln!(
                "leitmotif: feature cache {}: {} hit{}, {} miss{} ({} damaged entr{} rebuilt), {} stored{}",
                cache.dir().display(),
                s.hits,
                if s.hits == 1 { "" } else { "s" },
                s.misses,
                if s.misses == 1 { "" } else { "es" },
                s.bad,
                if s.bad == 1 { "y" } else { "ies" },
                s.stored,
                if s.write_failures > 0 {
                    format!(", {} could not be written", s.write_failures)
                } else {
                    String::new()
                }
            );
            if s.indexes_reused + s.indexes_built > 0 {
                eprintln!(
                    "leitmotif: landmark index of the tracks: {}",
                    if s.indexes_built == 0 { "reused" } else { "built and stored" }
                );
            }
            let pairs = s.pairs_reused + s.pairs_retraced + s.pairs_computed;
            if pairs > 0 {
                eprintln!(
                    "leitmotif: pair matching: {} of {pairs} pairs reused, {} traced again from stored seeds, {} computed{}",
                    s.pairs_reused,
                    s.pairs_retraced,
                    s.pairs_computed,
                    if s.pairs_damaged > 0 {
                        format!(" ({} damaged entries rebuilt)", s.pairs_damaged)
                    } else {
                        String::new()
                    }
                );
            }
        }
        None => eprintln!("leitmotif: feature cache off"),
    }
    let stages: Vec<String> = clock
        .map(StageClock::stages)
        .unwrap_or_default()
        .iter()
        .map(|(name, d)| format!("{name} {:.2} s", d.as_secs_f64()))
        .collect();
    let detail = if stages.is_empty() { String::new() } else { format!(" ({})", stages.join(", ")) };
    eprintln!("leitmotif: analysed in {:.2} s{detail}", t0.elapsed().as_secs_f64());
}

/// The folder an HTML report is written into: audio URLs are made relative to it.
fn html_dir(out: &OutputArgs) -> PathBuf {
    match out.html.as_deref().map(Destination::parse) {
        Some(Destination::File(path)) => match path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        },
        _ => PathBuf::from("."),
    }
}

/// Writes the label tracks and the JAMS file when asked.
fn write_interchange(report: &report::Report, args: &InterchangeArgs) -> Result<()> {
    if let Some(dir) = &args.labels {
        interchange::write_labels(report, dir)?;
    }
    if let Some(path) = &args.jams {
        interchange::write_jams(report, path)?;
    }
    Ok(())
}

/// Before any work: both documents cannot share standard output, and every file or folder to be
/// written must be writable, so that a long run never ends in a failed write.
fn check_outputs(out: &OutputArgs, interchange: Option<&InterchangeArgs>) -> Result<()> {
    if out.json.as_deref() == Some("-") && out.html.as_deref() == Some("-") {
        return Err(Error::BadParam {
            name: "--html",
            value: "-".to_owned(),
            expected: "a file when --json already writes to standard output".to_owned(),
        }
        .into());
    }
    for text in [&out.json, &out.html].into_iter().flatten() {
        if let Destination::File(path) = Destination::parse(text) {
            output::check_file_destination(&path)?;
        }
    }
    if let Some(args) = interchange {
        if let Some(dir) = &args.labels {
            output::check_folder_destination(dir)?;
        }
        if let Some(dir) = &args.jams {
            output::check_folder_destination(dir)?;
        }
    }
    Ok(())
}

fn print_stdout(text: &str) -> std::io::Result<()> {
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes())?;
    out.flush()
}

fn report_errors(errors: &[ErrorEntry]) {
    for e in errors {
        eprintln!("leitmotif: {}: {}", e.path, e.message);
    }
}

/// Writes the JSON and HTML documents where asked, then the summary unless it would mix with
/// a document on standard output.
fn emit(
    out: &OutputArgs,
    errors: &[ErrorEntry],
    json_text: impl Fn() -> String,
    html_text: impl Fn() -> String,
    summary: impl Fn() -> String,
) -> Result<ExitCode> {
    report_errors(errors);
    let json_dest = out.json.as_deref().map(Destination::parse);
    let html_dest = out.html.as_deref().map(Destination::parse);
    if let Some(dest) = &json_dest {
        dest.write(json_text().as_bytes())?;
    }
    if let Some(dest) = &html_dest {
        dest.write(html_text().as_bytes())?;
    }
    let stdout_taken = json_dest.as_ref().is_some_and(Destination::is_stdout)
        || html_dest.as_ref().is_some_and(Destination::is_stdout);
    if !out.quiet && !stdout_taken {
        print_stdout(&summary())?;
    }
    Ok(ExitCode::SUCCESS)
}

fn emit_report(report: &report::Report, tracks: &[Track], query: bool, out: &OutputArgs) -> Result<ExitCode> {
    let dir = html_dir(out);
    let html_text = || {
        let mut inputs = HtmlInputs::with_tracks(report, tracks, &dir);
        if query {
            // The query's own track is listed first; its structure frames the query span.
            inputs.similarity_track = Some(0);
        }
        html::render_report(&inputs)
    };
    emit(out, &report.errors, || json::to_json(report), html_text, || text::summary(report, false))
}

/// Splits `cues` inputs when every value followed `--tracks` (see the after-help text).
fn split_cue_inputs(tracks: Vec<PathBuf>, episodes: Vec<PathBuf>) -> Result<(Vec<PathBuf>, Vec<PathBuf>, bool)> {
    // After `--` every value is an episode: an option there would silently become a path and
    // the output it asks for would never be written.
    if let Some(option) = episodes.iter().find(|p| p.to_string_lossy().starts_with('-') && !p.exists()) {
        return Err(Error::BadParam {
            name: "EPISODE",
            value: option.display().to_string(),
            expected: "an episode file; options go before `--`, after which every value is an episode".to_owned(),
        }
        .into());
    }
    if !episodes.is_empty() {
        return Ok((tracks, episodes, false));
    }
    if tracks.len() < 2 {
        return Err(Error::BadParam {
            name: "EPISODE",
            value: "(none)".to_owned(),
            expected: "at least one episode after the tracks (e.g. `cues --tracks ost/ ep01.mkv`)".to_owned(),
        }
        .into());
    }
    let mut tracks = tracks;
    let episodes = if tracks[0].is_dir() { tracks.split_off(1) } else { tracks.split_off(tracks.len() - 1) };
    Ok((tracks, episodes, true))
}

fn join_paths(paths: &[PathBuf]) -> String {
    paths.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(", ")
}

/// The library of `--lib`, if given; its cache becomes the run's unless `--cache` or
/// `--no-cache` says otherwise.
fn open_library(dir: Option<&std::path::Path>, cache: &mut CacheArgs) -> Result<Option<Library>> {
    let Some(dir) = dir else { return Ok(None) };
    let lib = Library::open(dir)?;
    if cache.cache.is_none() && !cache.no_cache {
        cache.cache = Some(lib.cache_dir());
    }
    Ok(Some(lib))
}

/// `index build`: the library's files and the new ones analysed with the library's cache; the
/// motifs and then the library document written (in that order, each whole, so a stopped run
/// leaves the document as it was).
fn run_index_build(b: IndexBuildArgs) -> Result<ExitCode> {
    let t0 = Instant::now();
    let mut lib = Library::open_or_new(&b.out)?;
    let (files, input_errors) = pipeline::expand_inputs(&b.paths);
    for e in &input_errors {
        eprintln!("leitmotif: {}", e.error);
    }
    let before = lib.files.len();
    let added = lib.add_files(&files)?;
    if lib.files.is_empty() {
        return Err(Error::NothingAnalysed { failures: input_errors.into_iter().map(|e| e.error).collect() }.into());
    }
    let output = OutputArgs {
        json: None,
        html: None,
        quiet: b.quiet,
        verbose: b.verbose,
        cache: CacheArgs { cache: Some(lib.cache_dir()), no_cache: false },
    };
    let (hooks, clock) = run_hooks(&output);
    let cfg = AnalyzeConfig {
        inputs: lib.files.clone(),
        features: FeatureConfig::default(),
        motif: b.motif.config(),
        hooks: hooks.clone(),
    };
    let (mut report, tracks) = pipeline::analyze(&cfg)?;
    drop(cfg);
    verbose_note(&output, &hooks, clock.as_deref(), t0);
    drop(hooks);
    lib.apply_names(&mut report);
    output::write_atomic(&lib.motifs_path(), json::to_json(&report).as_bytes())?;
    lib.save()?;
    report_errors(&report.errors);
    if !b.quiet {
        let hours = tracks.iter().map(|t| t.duration_s).sum::<f64>() / 3600.0;
        let bytes = lib.cache_bytes();
        let per_hour =
            if hours > 0.0 { format!(", {:.1} MB per hour", bytes as f64 / 1e6 / hours) } else { String::new() };
        print_stdout(&format!(
            "library {}: {} files ({added} new, {before} before), {hours:.2} h of audio, {} motif{}; \
             cache {:.1} MB{per_hour}; {:.1} s\n",
            lib.dir().display(),
            lib.files.len(),
            report.motifs.len(),
            if report.motifs.len() == 1 { "" } else { "s" },
            bytes as f64 / 1e6,
            t0.elapsed().as_secs_f64()
        ))?;
    }
    // As `analyze`: the library was written, and what could not be read is listed above.
    Ok(ExitCode::SUCCESS)
}

/// `themes name` and `themes list`.
fn run_themes(t: ThemesCommand) -> Result<ExitCode> {
    match t {
        ThemesCommand::Name { lib, motif, name } => {
            let mut lib = Library::open(&lib)?;
            let path = lib.motifs_path();
            let report: report::Report = json::from_value(&path, json::read_value(&path)?)?;
            let theme = lib.name_theme(&report, motif, &name)?.clone();
            lib.save()?;
            print_stdout(&format!(
                "theme \"{}\" = motif {motif}: {} {:.2}-{:.2} s\n",
                theme.name,
                theme.path.display(),
                theme.start_s,
                theme.end_s
            ))?;
        }
        ThemesCommand::List { lib } => {
            let lib = Library::open(&lib)?;
            let mut text = String::new();
            for theme in &lib.themes {
                text.push_str(&format!(
                    "{}\t{}\t{:.2}\t{:.2}\n",
                    theme.name,
                    theme.path.display(),
                    theme.start_s,
                    theme.end_s
                ));
            }
            print_stdout(&text)?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn run_cues(mut c: CuesArgs) -> Result<ExitCode> {
    check_outputs(&c.output, None)?;
    let lib = open_library(c.lib.as_deref(), &mut c.output.cache)?;
    if let Some(path) = &c.csv {
        output::check_file_destination(path)?;
    }
    if let Some(dir) = &c.labels {
        output::check_folder_destination(dir)?;
    }
    let (mut tracks, episodes, guessed) = split_cue_inputs(c.tracks, c.episodes)?;
    if let Some(lib) = &lib {
        tracks.splice(0..0, lib.files.iter().cloned());
    }
    // With one value each there is nothing to choose; otherwise say how the values were split.
    if guessed && tracks.len() + episodes.len() > 2 && !c.output.quiet {
        eprintln!(
            "leitmotif: note: tracks {}; episodes {} (put `--` before the episodes to choose)",
            join_paths(&tracks),
            join_paths(&episodes)
        );
    }
    let t0 = Instant::now();
    let (hooks, clock) = run_hooks(&c.output);
    let cfg = CuesConfig {
        tracks,
        episodes,
        features: FeatureConfig::default(),
        cues: CueConfig { min_len_s: c.min_len, threshold: c.threshold, ..CueConfig::default() },
        hooks: hooks.clone(),
    };
    let mut report = pipeline::cues(&cfg)?;
    if let Some(lib) = &lib {
        lib.apply_cue_names(&mut report);
    }
    drop(cfg);
    verbose_note(&c.output, &hooks, clock.as_deref(), t0);
    drop(hooks);
    if let Some(path) = &c.csv {
        output::write_atomic(path, interchange::cue_csv(&report).as_bytes())?;
    }
    if let Some(dir) = &c.labels {
        interchange::write_cue_labels(&report, dir)?;
    }
    let dir = html_dir(&c.output);
    emit(
        &c.output,
        &report.errors,
        || json::to_json(&report),
        || html::render_cues(&CueHtmlInputs::for_dir(&report, &dir)),
        || text::cue_sheet(&report, false),
    )
}

fn secs(d: std::time::Duration) -> f64 {
    d.as_secs_f64()
}

fn run_chroma(c: ChromaArgs) -> Result<ExitCode> {
    if c.decode_only {
        return decode_only(&c);
    }
    let out_dir = match (&c.out, &c.png) {
        (Some(dir), _) => Some(dir.clone()),
        (None, None) => Some(PathBuf::from(".")),
        (None, Some(_)) => None,
    };
    for dir in out_dir.iter().chain(&c.png) {
        output::check_folder_destination(dir)?;
    }
    export_chroma(&c, out_dir)?;
    Ok(ExitCode::SUCCESS)
}

/// `chroma --decode-only`: each file decoded to its end, nothing computed.
fn decode_only(c: &ChromaArgs) -> Result<ExitCode> {
    let t0 = Instant::now();
    let (decoded, errors) = pipeline::decode_inputs(&c.files);
    let wall = t0.elapsed();
    for e in &errors {
        eprintln!("leitmotif: {e}");
    }
    if decoded.is_empty() {
        return Err(leitmotif::track::nothing_analysed(errors).into());
    }
    let mut text = String::new();
    for d in &decoded {
        if !c.quiet {
            let skipped = match d.skipped_packets {
                0 => String::new(),
                n => format!(" ({n} unreadable packet{} skipped)", if n == 1 { "" } else { "s" }),
            };
            text.push_str(&format!("{}: {:.1} s of audio decoded{skipped}\n", d.path.display(), d.duration_s));
        }
        if c.timings {
            text.push_str(&format!(
                "  decode {:.3} s: {:.1}x real time\n",
                secs(d.elapsed),
                d.duration_s / secs(d.elapsed).max(1e-9)
            ));
        }
    }
    if c.timings {
        let audio: f64 = decoded.iter().map(|d| d.duration_s).sum();
        text.push_str(&total_timing_line(decoded.len(), audio, "of audio decoded", wall));
    }
    print_stdout(&text)?;
    Ok(ExitCode::SUCCESS)
}

/// `chroma`: each file decoded once (or read from the cache), its data file and image written.
fn export_chroma(c: &ChromaArgs, out_dir: Option<PathBuf>) -> Result<()> {
    let cfg = ChromaConfig {
        inputs: c.files.clone(),
        out_dir,
        png_dir: c.png.clone(),
        format: match c.format {
            FormatArg::Json => ChromaFormat::Json,
            FormatArg::Csv => ChromaFormat::Csv,
            FormatArg::Npy => ChromaFormat::Npy,
        },
        kind: match c.kind {
            KindArg::Chroma => ChromaKind::Chroma,
            KindArg::Cens => ChromaKind::Cens,
            KindArg::Melody => ChromaKind::Melody,
        },
        layout: match c.layout {
            LayoutArg::FrameMajor => ChromaLayout::FrameMajor,
            LayoutArg::PitchMajor => ChromaLayout::PitchMajor,
        },
        features: FeatureConfig { hop_s: c.hop, ..FeatureConfig::default() },
        hooks: Hooks { cache: c.cache.open(), progress: if c.quiet { None } else { terminal_progress() } },
    };
    let t0 = Instant::now();
    let (outputs, errors) = export::export_chroma(&cfg)?;
    let wall = t0.elapsed();
    for e in &errors {
        eprintln!("leitmotif: {e}");
    }
    let mut text = String::new();
    for o in &outputs {
        if !c.quiet {
            let files: Vec<String> = o.files.iter().map(|f| f.display().to_string()).collect();
            text.push_str(&format!("{}: {} frames -> {}\n", o.input.display(), o.frames, files.join(", ")));
        }
        if c.timings {
            text.push_str(&format!(
                "  open {:.3} s, decode {:.3} s, features {:.3} s (CPU over all threads: decimation {:.3} s, FFT {:.3} s, pitch mapping {:.3} s), write {:.3} s; {:.1} s of audio in {:.3} s: {:.1}x real time (RTF {:.4})\n",
                secs(o.timings.open),
                secs(o.timings.decode),
                secs(o.timings.features),
                secs(o.timings.feature_stages.decimate),
                secs(o.timings.feature_stages.fft),
                secs(o.timings.feature_stages.mapping),
                secs(o.write),
                o.duration_s,
                secs(o.total()),
                o.speed(),
                1.0 / o.speed()
            ));
        }
    }
    if c.timings {
        let audio: f64 = outputs.iter().map(|o| o.duration_s).sum();
        text.push_str(&total_timing_line(outputs.len(), audio, "of audio", wall));
    }
    print_stdout(&text)?;
    Ok(())
}

/// The `--timings` summary of a run: files, seconds of audio (`what`), wall clock, speed.
fn total_timing_line(files: usize, audio_s: f64, what: &str, wall: Duration) -> String {
    let speed = audio_s / wall.as_secs_f64().max(1e-9);
    format!(
        "total: {files} file(s), {audio_s:.1} s {what} in {:.3} s wall clock ({} threads): {speed:.1}x real time (RTF {:.4})\n",
        wall.as_secs_f64(),
        rayon::current_num_threads(),
        1.0 / speed
    )
}
