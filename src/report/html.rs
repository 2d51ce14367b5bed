//! Self-contained HTML reports: one file with inline CSS, a small inline script and images as
//! `data:` URIs, nothing fetched from the network. A motif report holds a timeline (one lane per
//! track, one coloured block per occurrence), a table per motif with play buttons that play the
//! local audio from the occurrence's start, and per track a chromagram (plus, for a single track
//! or a query, a self-similarity matrix). A cue sheet holds a timeline per episode.
//!
//! Every string that comes from a file (paths, tags, error messages) is HTML-escaped; audio
//! sources are percent-encoded URLs relative to the report's folder, so the report keeps working
//! when it sits beside the music.

use std::fmt::Write;
use std::path::{Component, Path, PathBuf};

use super::images::{self, MAX_CHROMAGRAM_COLUMNS, MAX_SSM_CELLS};
use super::{CueReport, ErrorEntry, OccurrenceEntry, Report, SectionOccurrence, TrackEntry, format_time};
use crate::features::chroma::N_CHROMA;
use crate::track::Track;

/// Pitch-class names from the top row of a chromagram image down.
const ROWS_TOP_DOWN: [&str; 12] = ["B", "A#", "A", "G#", "G", "F#", "F", "E", "D#", "D", "C#", "C"];

/// Distinct colours for the first motifs (or tracks of a cue sheet); later ones get hues
/// spaced by the golden angle.
const PALETTE: [&str; 20] = [
    "#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948", "#b07aa1", "#ff9da7", "#9c755f", "#17becf",
    "#bcbd22", "#393b79", "#637939", "#843c39", "#7b4173", "#6b6ecf", "#e7969c", "#8ca252", "#bab0ac", "#ad494a",
];

/// The colour of motif (or track) `i`.
pub fn colour(i: usize) -> String {
    match PALETTE.get(i) {
        Some(c) => (*c).to_owned(),
        None => format!("hsl({:.0},62%,48%)", (i as f64 * 137.508) % 360.0),
    }
}

/// Light overlays drawn over the colour of every motif past the first ten, one per group of
/// ten: with dozens of motifs, neighbouring hues are hard to tell apart by colour alone.
const PATTERNS: [&str; 5] = [
    "repeating-linear-gradient(45deg,rgba(255,255,255,.45) 0 2px,transparent 2px 6px)",
    "radial-gradient(rgba(255,255,255,.6) 1.2px,transparent 1.6px) 0 0/5px 5px",
    "repeating-linear-gradient(-45deg,rgba(255,255,255,.45) 0 2px,transparent 2px 6px)",
    "repeating-linear-gradient(0deg,rgba(255,255,255,.45) 0 2px,transparent 2px 5px)",
    "repeating-linear-gradient(90deg,rgba(255,255,255,.45) 0 2px,transparent 2px 5px)",
];

/// The CSS background of motif (or track) `i`: its colour, and past the first ten a pattern.
pub fn fill(i: usize) -> String {
    match i.checked_sub(10) {
        Some(k) => format!("background:{} {}", PATTERNS[(k / 10) % PATTERNS.len()], colour(i)),
        None => format!("background:{}", colour(i)),
    }
}

/// Escapes text for HTML element content and attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

/// Percent-encodes the bytes of one path component for a URL (unreserved characters stay).
fn encode_component(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len());
    for &b in bytes {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(char::from(b));
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

fn absolute(path: &Path) -> Option<PathBuf> {
    path.canonicalize().ok().or_else(|| std::path::absolute(path).ok())
}

/// The URL of `target` relative to the folder `from_dir` (where the HTML file is), with every
/// component percent-encoded; an absolute `file://` URL when the two share no root. `None`
/// when either path cannot be resolved.
pub fn relative_url(from_dir: &Path, target: &Path) -> Option<String> {
    let from = absolute(from_dir)?;
    let to = absolute(target)?;
    let from_parts: Vec<Component> = from.components().collect();
    let to_parts: Vec<Component> = to.components().collect();
    let common = from_parts.iter().zip(&to_parts).take_while(|(a, b)| a == b).count();
    let encode = |parts: &[Component]| -> Vec<String> {
        parts
            .iter()
            .filter_map(|c| match c {
                Component::Normal(s) => Some(encode_component(s.as_encoded_bytes())),
                _ => None,
            })
            .collect()
    };
    // No root in common (another drive): only an absolute URL can reach the file.
    if common == 0 {
        return Some(format!("file:///{}", encode(&to_parts).join("/")));
    }
    let mut parts: Vec<String> = vec!["..".to_owned(); from_parts.len() - common];
    parts.extend(encode(&to_parts[common..]));
    Some(parts.join("/"))
}

/// What the renderer knows about one track beyond its document entry.
#[derive(Debug, Clone, Default)]
pub struct TrackView<'a> {
    /// The track's chroma frames (frame k centred at `k * hop_s`) and `hop_s`, when available.
    pub chroma: Option<(&'a [[f32; N_CHROMA]], f64)>,
    /// URL of the audio file relative to the HTML file, for the play buttons.
    pub audio_url: Option<String>,
}

impl<'a> TrackView<'a> {
    /// The view of an analysed track, for a report written into the folder `html_dir`.
    pub fn of(track: &'a Track, html_dir: &Path) -> Self {
        Self {
            chroma: Some((&track.features.chroma, track.features.hop_s)),
            audio_url: relative_url(html_dir, &track.path),
        }
    }
}

/// Everything a motif report page is drawn from: the document plus, per track (in the order of
/// `report.tracks`), its features and audio location.
#[derive(Debug, Clone)]
pub struct HtmlInputs<'a> {
    /// The document.
    pub report: &'a Report,
    /// Per track; missing entries (or a short vector) draw no chromagram and no play button.
    pub tracks: Vec<TrackView<'a>>,
    /// The track whose self-similarity matrix is drawn (a single track, or a query's).
    pub similarity_track: Option<usize>,
}

impl<'a> HtmlInputs<'a> {
    /// Inputs holding only the document (no images, no audio).
    pub fn new(report: &'a Report) -> Self {
        Self { report, tracks: Vec::new(), similarity_track: None }
    }

    /// Inputs for analysed `tracks` (in the order of `report.tracks`) and a report written
    /// into `html_dir`. A one-track analysis gets its self-similarity matrix.
    pub fn with_tracks(report: &'a Report, tracks: &'a [Track], html_dir: &Path) -> Self {
        let views = tracks.iter().map(|t| TrackView::of(t, html_dir)).collect();
        Self { report, tracks: views, similarity_track: (tracks.len() == 1).then_some(0) }
    }

    fn view(&self, track: usize) -> Option<&TrackView<'a>> {
        self.tracks.get(track)
    }
}

const STYLE: &str = r#"
:root{--fg:#1d2125;--muted:#6b7280;--line:#d9dde3;--bg:#fff;--soft:#f4f6f8;--accent:#2563eb}
*{box-sizing:border-box}
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0;color:var(--fg);background:var(--bg)}
main{max-width:1400px;margin:0 auto;padding:1.2em 1.5em 6em}
h1{font-size:1.5em;margin:.2em 0}h2{font-size:1.2em;margin:1.6em 0 .5em;border-bottom:1px solid var(--line);padding-bottom:.2em}
h3{font-size:1.05em;margin:1.2em 0 .4em}
.muted{color:var(--muted)}.mono{font-family:ui-monospace,Menlo,Consolas,monospace;font-size:.92em}
table{border-collapse:collapse;margin:.4em 0 1em}
th,td{border-bottom:1px solid var(--line);padding:.2em .6em;text-align:left;vertical-align:middle}
th{background:var(--soft);font-weight:600}td.n{text-align:right;font-variant-numeric:tabular-nums}
.legend{display:flex;flex-wrap:wrap;gap:.35em;margin:.6em 0}
.chip{display:inline-flex;align-items:center;gap:.35em;border:1px solid var(--line);border-radius:1em;padding:.1em .6em .1em .35em;text-decoration:none;color:inherit;background:#fff;font-size:.92em}
.chip:hover{border-color:#888}.sw{display:inline-block;width:.9em;height:.9em;border-radius:.2em;flex:none}
.timeline{border:1px solid var(--line);border-radius:6px;padding:.4em .6em;background:#fff}
.row{display:grid;grid-template-columns:15em 1fr;align-items:center;gap:.6em;min-height:18px}
.row+.row{border-top:1px solid #f0f1f3}
.name{white-space:nowrap;overflow:hidden;text-overflow:ellipsis;font-size:.9em}
.name.full{overflow:visible;position:relative;z-index:5}.name.full>span{background:#fffbe6;box-shadow:0 0 0 3px #fffbe6,0 1px 4px 3px rgba(0,0,0,.18);border-radius:2px}
.lane{position:relative;background:repeating-linear-gradient(90deg,#e5e8ec 0,#e5e8ec 1px,transparent 1px,transparent var(--tick))}
.extent{position:absolute;left:0;top:0;bottom:0;background:rgba(37,99,235,.06);border-right:1px solid #c7ccd4}
.occ{position:absolute;height:20px;min-width:3px;border-radius:3px;border:0;padding:0 3px;cursor:pointer;color:#fff;font-size:11px;line-height:20px;white-space:nowrap;overflow:hidden;text-align:center;opacity:.92;text-shadow:0 0 2px rgba(0,0,0,.7)}
.sec{position:absolute;height:7px;border-radius:2px;background:repeating-linear-gradient(45deg,#9ca3af 0 3px,#d1d5db 3px 6px);color:transparent;font-size:0;overflow:hidden}
.occ b{font-weight:700}.occ.narrow .kt{display:none}
.occ:hover,.occ.playing{outline:2px solid #111;opacity:1;z-index:2}
body.focus .occ{opacity:.15}body.focus .occ.on{opacity:1}
.axis{position:relative;height:1.3em;font-size:.78em;color:var(--muted)}
.axis span{position:absolute;transform:translateX(-50%);white-space:nowrap}
.play{border:1px solid var(--line);background:#fff;border-radius:4px;cursor:pointer;padding:0 .5em;font-size:.95em}
.play:hover{background:var(--soft)}.play:disabled{opacity:.4;cursor:default}.play.playing{background:#dbeafe;border-color:var(--accent)}
.track{margin:1em 0 1.6em}
.chroma{display:grid;grid-template-columns:2em 1fr;gap:.3em}
.pcs{display:grid;grid-template-rows:repeat(12,8px);font-size:7px;line-height:8px;color:var(--muted);text-align:right}
.chroma img{width:100%;height:96px;image-rendering:pixelated;display:block;border-radius:2px}
.marks{position:relative;margin-top:2px}
.mark{position:absolute;height:8px;border-radius:2px;opacity:.9}
.ssm{position:relative;width:min(420px,100%);aspect-ratio:1}
.ssm img{width:100%;height:100%;image-rendering:pixelated;display:block}
.box{position:absolute;border:2px solid;box-shadow:0 0 0 1px #fff,inset 0 0 0 1px #fff;pointer-events:none}
#bar{position:fixed;left:0;right:0;bottom:0;background:#111827;color:#f9fafb;display:flex;align-items:center;gap:1em;padding:.4em 1em;font-size:.92em}
#bar audio{height:32px;flex:none;width:min(480px,50vw)}#now{flex:1;white-space:nowrap;overflow:hidden;text-overflow:ellipsis}
"#;

/// Plays a span of a local file in the one player: sets the source, waits for its metadata,
/// seeks to the start and pauses at the end. `#selftest[=N]` clicks the N-th play button and
/// writes what happened into `#selftest` (used by the browser test).
const SCRIPT: &str = r#"
(function(){
var player=document.getElementById('player'),now=document.getElementById('now'),stopAt=null,startAt=0,current=null;
function srcOf(el){if(el.dataset.src)return el.dataset.src;var h=document.getElementById('src-'+el.dataset.kind+'-'+el.dataset.track);return h?h.dataset.src:null;}
function play(el){
 var src=srcOf(el);if(!src){now.textContent='no audio file for this track';return;}
 var start=parseFloat(el.dataset.start),end=parseFloat(el.dataset.end);
 var abs=new URL(src,document.baseURI).href;
 if(current)current.classList.remove('playing');current=el;el.classList.add('playing');
 now.textContent=el.dataset.label||'';startAt=start;stopAt=isFinite(end)?end:null;
 function go(){player.currentTime=start;var p=player.play();if(p&&p.catch)p.catch(function(e){now.textContent=(el.dataset.label||'')+' \u2014 cannot play: '+e.message;});}
 if(player.src!==abs){player.src=abs;player.addEventListener('loadedmetadata',go,{once:true});player.load();}else if(player.readyState>0){go();}else{player.addEventListener('loadedmetadata',go,{once:true});}
}
player.addEventListener('timeupdate',function(){if(stopAt!==null&&player.currentTime>=stopAt){player.pause();stopAt=null;}});
player.addEventListener('seeking',function(){if(stopAt!==null&&(player.currentTime<startAt-0.5||player.currentTime>stopAt))stopAt=null;});
document.addEventListener('click',function(e){var el=e.target.closest('.play,.occ');if(el&&!el.disabled){e.preventDefault();play(el);}});
function focus(m){document.body.classList.toggle('focus',m!==null);document.querySelectorAll('.occ').forEach(function(o){o.classList.toggle('on',m!==null&&o.dataset.motif===m);});}
function fit(){document.querySelectorAll('.occ').forEach(function(o){o.classList.remove('narrow');if(o.scrollWidth>o.clientWidth)o.classList.add('narrow');});}
fit();window.addEventListener('resize',fit);
document.querySelectorAll('.name').forEach(function(n){n.addEventListener('mouseenter',function(){n.classList.add('full');});n.addEventListener('mouseleave',function(){n.classList.remove('full');});});
document.querySelectorAll('.chip[data-motif]').forEach(function(c){c.addEventListener('mouseenter',function(){focus(c.dataset.motif);});c.addEventListener('mouseleave',function(){focus(null);});});
function layout(){
 function inside(a,b){return a.left>=b.left-0.5&&a.right<=b.right+0.5&&a.top>=b.top-0.5&&a.bottom<=b.bottom+0.5;}
 function meet(a,b){return Math.min(a.right,b.right)-Math.max(a.left,b.left)>0.5&&Math.min(a.bottom,b.bottom)-Math.max(a.top,b.top)>0.5;}
 function check(holder,item){var outside=0,overlapping=0,n=0;document.querySelectorAll(holder).forEach(function(h){var box=h.getBoundingClientRect(),rs=[].map.call(h.querySelectorAll(item),function(e){return e.getBoundingClientRect();});n+=rs.length;rs.forEach(function(r,i){if(!inside(r,box))outside++;for(var j=i+1;j<rs.length;j++)if(meet(r,rs[j]))overlapping++;});});return{count:n,outside:outside,overlapping:overlapping};}
 function shown(span){var r=span.getBoundingClientRect(),hit=document.elementFromPoint(r.right-2,(r.top+r.bottom)/2);return !!hit&&span.contains(hit);}
 var names=[].slice.call(document.querySelectorAll('#timeline .name')),widest=null,over=0;
 names.forEach(function(n){var d=n.firstElementChild.getBoundingClientRect().width-n.clientWidth;if(d>over){over=d;widest=n;}});
 var name=null;
 if(widest){widest.scrollIntoView({block:'center'});var span=widest.firstElementChild;name={text:span.textContent,before:shown(span)};widest.dispatchEvent(new MouseEvent('mouseenter'));name.hover=shown(span);widest.dispatchEvent(new MouseEvent('mouseleave'));name.after=shown(span);window.scrollTo(0,0);}
 var swatches=[].map.call(document.querySelectorAll('.chip[data-motif] .sw'),function(s){var c=getComputedStyle(s);return{colour:c.backgroundColor,pattern:c.backgroundImage};});
 return{lanes:check('#timeline .lane','.occ'),marks:check('.marks','.mark'),name:name,swatches:swatches,detailed:document.querySelectorAll('#timeline .occ:not(.narrow) .kt').length};
}
var m=/^#selftest(?:=(\d+))?$/.exec(location.hash);
if(m){
 var out=document.getElementById('selftest'),buttons=document.querySelectorAll('button.play:not(:disabled)'),btn=buttons[m[1]?parseInt(m[1],10):0],done=false;
 var res={occurrences:document.querySelectorAll('#timeline .occ[data-motif]').length,motifs:document.querySelectorAll('section.motif').length,buttons:buttons.length,layout:layout()};
 function finish(why){if(done)return;done=true;res.result=why;res.current_time=player.currentTime;res.paused=player.paused;res.src=player.currentSrc;res.ready_state=player.readyState;res.error=player.error?player.error.code:null;out.textContent=JSON.stringify(res);document.title='selftest '+why;}
 if(!btn){finish('no button');}else{
  res.track=parseInt(btn.dataset.track,10);res.start=parseFloat(btn.dataset.start);
  res.events=[];['loadedmetadata','seeked','play','playing','timeupdate','canplay','stalled','waiting'].forEach(function(n){player.addEventListener(n,function(){res.events.push(n+'@'+player.currentTime.toFixed(2));});});
  player.addEventListener('play',function(){setTimeout(function(){finish('started');},500);});
  player.addEventListener('error',function(){finish('error');});
  setTimeout(function(){finish('timeout');},5000);
  btn.click();
 }
}
})();
"#;

fn page(title: &str, body: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\n<title>{}</title>\n\
         <style>{STYLE}</style>\n</head>\n<body>\n<main>\n{body}</main>\n\
         <div id=\"bar\"><span>&#9654;</span><span id=\"now\" class=\"muted\">click a &#9654; button or a block to listen</span>\
         <audio id=\"player\" controls preload=\"none\"></audio></div>\n<pre id=\"selftest\" hidden></pre>\n\
         <script>{SCRIPT}</script>\n</body>\n</html>\n",
        escape(title)
    )
}

/// ` · artist NAME` for a tag that is there; nothing for one that is missing or blank.
fn tag(name: &str, value: Option<&String>) -> String {
    value.filter(|v| !v.trim().is_empty()).map_or_else(String::new, |v| format!(" &middot; {name} {}", escape(v)))
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

fn errors_table(out: &mut String, errors: &[ErrorEntry]) {
    if errors.is_empty() {
        return;
    }
    let _ = writeln!(out, "<h2>Not analysed</h2>\n<table>\n<tr><th>path</th><th>error</th></tr>");
    for e in errors {
        let _ = writeln!(out, "<tr><td class=\"mono\">{}</td><td>{}</td></tr>", escape(&e.path), escape(&e.message));
    }
    out.push_str("</table>\n");
}

/// A percentage of `total` for CSS, clamped to [0, 100].
fn pct(x: f64, total: f64) -> f64 {
    if total > 0.0 && x.is_finite() { (x / total * 100.0).clamp(0.0, 100.0) } else { 0.0 }
}

/// A tick step (seconds) giving at most about a dozen ticks over `total` seconds.
fn tick_step(total: f64) -> f64 {
    const STEPS: [f64; 12] = [1.0, 2.0, 5.0, 10.0, 15.0, 30.0, 60.0, 120.0, 300.0, 600.0, 900.0, 1800.0];
    STEPS.iter().copied().find(|s| total / s <= 12.0).unwrap_or(3600.0)
}

/// The time axis row of a timeline over `total` seconds.
fn axis(out: &mut String, total: f64) {
    let step = tick_step(total);
    out.push_str("<div class=\"row\"><div></div><div class=\"axis\">");
    let mut t = 0.0;
    while t <= total + 1e-9 {
        let _ = write!(out, "<span style=\"left:{:.3}%\">{}</span>", pct(t, total), crate::units::format_clock(t));
        t += step;
    }
    out.push_str("</div></div>\n");
}

/// Pixels from one timeline row of blocks to the next (blocks are two pixels shorter).
const LANE_ROW_PX: usize = 22;
/// Pixels from one row of section bands to the next.
const SECTION_ROW_PX: usize = 9;
/// Pixels from one row of occurrence marks under a chromagram to the next.
const MARK_ROW_PX: usize = 9;

/// The height of a timeline lane holding `rows` rows of blocks.
fn lane_height(rows: usize) -> usize {
    rows * LANE_ROW_PX + 2
}

/// Packs spans into rows so that no two in a row overlap; returns each span's row and the
/// number of rows.
fn pack_rows(spans: &[(f64, f64)]) -> (Vec<usize>, usize) {
    let mut order: Vec<usize> = (0..spans.len()).collect();
    order.sort_by(|&a, &b| spans[a].0.total_cmp(&spans[b].0));
    let mut row_end: Vec<f64> = Vec::new();
    let mut rows = vec![0; spans.len()];
    for i in order {
        let (start, end) = spans[i];
        let row = row_end.iter().position(|&e| e <= start).unwrap_or(row_end.len());
        if row == row_end.len() {
            row_end.push(end);
        } else {
            row_end[row] = end;
        }
        rows[i] = row;
    }
    (rows, row_end.len().max(1))
}

fn signed(semitones: i32) -> String {
    if semitones > 0 { format!("+{semitones}") } else { semitones.to_string() }
}

/// What hovering an occurrence shows (`motif` is the document's id; people count from 1).
fn occurrence_title(motif: usize, name: &str, o: &OccurrenceEntry) -> String {
    format!(
        "motif {} \u{b7} {name} \u{b7} {}\u{2013}{} \u{b7} key {} \u{b7} tempo \u{d7}{:.2} \u{b7} score {:.2}",
        motif + 1,
        format_time(o.start_s),
        format_time(o.end_s),
        signed(o.transpose),
        o.tempo_ratio,
        o.score
    )
}

fn track_name(tracks: &[TrackEntry], i: usize) -> &str {
    tracks.get(i).map_or("?", TrackEntry::display_name)
}

/// Hidden elements holding each track's audio URL, looked up by the play script.
fn sources(out: &mut String, kind: &str, urls: &[Option<String>]) {
    for (i, url) in urls.iter().enumerate() {
        if let Some(url) = url {
            let _ = writeln!(out, "<span hidden id=\"src-{kind}-{i}\" data-src=\"{}\"></span>", escape(url));
        }
    }
}

/// The motif timeline: one lane per track on a common time scale.
fn motif_timeline(out: &mut String, report: &Report) {
    let total = report.tracks.iter().map(|t| t.duration_s).fold(0.0, f64::max).max(1.0);
    let mut per_track: Vec<Vec<(usize, &OccurrenceEntry)>> = vec![Vec::new(); report.tracks.len()];
    for m in &report.motifs {
        for o in &m.occurrences {
            if let Some(lane) = per_track.get_mut(o.track) {
                lane.push((m.id, o));
            }
        }
    }
    let tick = pct(tick_step(total), total);
    let _ = writeln!(out, "<div class=\"timeline\" id=\"timeline\" style=\"--tick:{tick:.4}%\">");
    axis(out, total);
    for (t, lane) in per_track.iter().enumerate() {
        let entry = &report.tracks[t];
        // Larger repeats first, as thin bands above the motif blocks they are made of.
        let sections: Vec<(usize, &SectionOccurrence)> = report
            .sections
            .iter()
            .flat_map(|s| s.occurrences.iter().filter(move |o| o.track == t).map(move |o| (s.id, o)))
            .collect();
        let (section_rows, n_section_rows) =
            pack_rows(&sections.iter().map(|(_, o)| (o.start_s, o.end_s)).collect::<Vec<_>>());
        let band = if sections.is_empty() { 0 } else { n_section_rows * SECTION_ROW_PX };
        let spans: Vec<(f64, f64)> = lane.iter().map(|(_, o)| (o.start_s, o.end_s)).collect();
        let (rows, n_rows) = pack_rows(&spans);
        let _ = write!(
            out,
            "<div class=\"row\"><div class=\"name\" title=\"{}\"><span>{}. {}</span></div>\
             <div class=\"lane\" style=\"height:{}px\"><span class=\"extent\" style=\"width:{:.3}%\"></span>",
            escape(&entry.path),
            t + 1,
            escape(entry.display_name()),
            band + lane_height(n_rows),
            pct(entry.duration_s, total),
        );
        for ((id, o), row) in sections.iter().zip(&section_rows) {
            let motifs: Vec<String> = report.sections[*id].motifs.iter().map(|m| (m + 1).to_string()).collect();
            let title = format!(
                "section {} \u{b7} {}\u{2013}{} \u{b7} made of motifs {}",
                id + 1,
                format_time(o.start_s),
                format_time(o.end_s),
                motifs.join(", ")
            );
            let _ = write!(
                out,
                "<span class=\"sec\" data-section=\"{id}\" title=\"{}\" style=\"left:{:.3}%;width:{:.3}%;top:{}px\">{}</span>",
                escape(&title),
                pct(o.start_s, total),
                pct(o.end_s - o.start_s, total),
                row * SECTION_ROW_PX + 1,
                id + 1
            );
        }
        for ((motif, o), row) in lane.iter().zip(&rows) {
            let name = entry.display_name();
            let _ = write!(
                out,
                "<button type=\"button\" class=\"occ\" data-motif=\"{motif}\" data-kind=\"track\" data-track=\"{t}\" \
                 data-start=\"{}\" data-end=\"{}\" data-label=\"{}\" title=\"{}\" \
                 style=\"left:{:.3}%;width:{:.3}%;top:{}px;{}\"><b>{}</b><span class=\"kt\"> \u{b7} key {} \u{b7} \u{d7}{:.2}</span></button>",
                o.start_s,
                o.end_s,
                escape(&occurrence_title(*motif, name, o)),
                escape(&occurrence_title(*motif, name, o)),
                pct(o.start_s, total),
                pct(o.end_s - o.start_s, total),
                band + row * LANE_ROW_PX + 1,
                fill(*motif),
                motif + 1,
                signed(o.transpose),
                o.tempo_ratio,
            );
        }
        out.push_str("</div></div>\n");
    }
    out.push_str("</div>\n");
}

/// The pairs of tracks that are versions of one another, and where.
fn version_table(out: &mut String, report: &Report) {
    if report.versions.is_empty() {
        return;
    }
    out.push_str(
        "<h2>Versions</h2>\n<p class=\"muted\">Tracks that play one stretch of music again in another key, tempo or \
         arrangement; the motifs heard in one are heard at the same place of the other.</p>\n<table>\n<tr><th>track\
         </th><th>stretch</th><th>version</th><th>stretch</th><th>key</th><th>tempo</th></tr>\n",
    );
    for v in &report.versions {
        let _ = writeln!(
            out,
            "<tr><td>{}</td><td>{}\u{2013}{}</td><td>{}</td><td>{}\u{2013}{}</td><td class=\"n\">{:+}</td><td class=\"n\">\
             \u{d7}{:.2}</td></tr>",
            escape(track_name(&report.tracks, v.track_a)),
            format_time(v.a_start_s),
            format_time(v.a_end_s),
            escape(track_name(&report.tracks, v.track_b)),
            format_time(v.b_start_s),
            format_time(v.b_end_s),
            v.transpose,
            v.tempo_ratio
        );
    }
    out.push_str("</table>\n");
}

/// The larger repeats: where each sounds and the motifs it is made of.
fn section_table(out: &mut String, report: &Report) {
    if report.sections.is_empty() {
        return;
    }
    out.push_str(
        "<h2>Sections</h2>\n<p class=\"muted\">Larger repeats: stretches heard again whole, each made of several \
         motifs in the same order (the grey bands above the lanes).</p>\n<table>\n<tr><th>section</th><th>where</th>\
         <th>made of motifs</th></tr>\n",
    );
    for s in &report.sections {
        let places: Vec<String> = s
            .occurrences
            .iter()
            .map(|o| {
                format!(
                    "{} {}\u{2013}{}",
                    escape(track_name(&report.tracks, o.track)),
                    format_time(o.start_s),
                    format_time(o.end_s)
                )
            })
            .collect();
        let motifs: Vec<String> = s.motifs.iter().map(|m| format!("<a href=\"#motif-{m}\">{}</a>", m + 1)).collect();
        let _ = writeln!(
            out,
            "<tr><td class=\"n\">{}</td><td>{}</td><td>{}</td></tr>",
            s.id + 1,
            places.join("<br>"),
            motifs.join(", ")
        );
    }
    out.push_str("</table>\n");
}

fn motif_legend(out: &mut String, report: &Report) {
    out.push_str("<div class=\"legend\">");
    for m in &report.motifs {
        let _ = write!(
            out,
            "<a class=\"chip\" data-motif=\"{0}\" href=\"#motif-{0}\"><span class=\"sw\" style=\"{1}\"></span>motif {3} \
             <span class=\"muted\">&times;{2}</span></a>",
            m.id,
            fill(m.id),
            m.occurrences.len(),
            m.id + 1
        );
    }
    out.push_str("</div>\n");
}

fn motif_tables(out: &mut String, inputs: &HtmlInputs<'_>, is_query: bool) {
    let report = inputs.report;
    for m in &report.motifs {
        let _ = writeln!(
            out,
            "<section class=\"motif\" id=\"motif-{0}\"><h3><span class=\"sw\" style=\"{1}\"></span> Motif {4}{5} \
             <span class=\"muted\">({2} occurrence{3})</span></h3>",
            m.id,
            fill(m.id),
            m.occurrences.len(),
            plural(m.occurrences.len()),
            m.id + 1,
            m.name.as_deref().map(|n| format!(": {}", escape(n))).unwrap_or_default()
        );
        out.push_str(
            "<table>\n<tr><th></th><th>track</th><th>start</th><th>end</th><th>length</th><th>key shift</th>\
             <th>tempo</th><th>score</th></tr>\n",
        );
        for (k, o) in m.occurrences.iter().enumerate() {
            let name = track_name(&report.tracks, o.track);
            let playable = inputs.view(o.track).is_some_and(|v| v.audio_url.is_some());
            let note = if is_query && k == 0 { " <span class=\"muted\">(query)</span>" } else { "" };
            let _ = writeln!(
                out,
                "<tr><td><button type=\"button\" class=\"play\" data-kind=\"track\" data-track=\"{}\" data-start=\"{}\" \
                 data-end=\"{}\" data-label=\"{}\" title=\"play from {}\"{}>&#9654;</button></td>\
                 <td><a href=\"#track-{}\">{}</a>{note}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{:.1} s</td>\
                 <td class=\"n\">{}</td><td class=\"n\">&times;{:.2}</td><td class=\"n\">{:.2}</td></tr>",
                o.track,
                o.start_s,
                o.end_s,
                escape(&occurrence_title(m.id, name, o)),
                format_time(o.start_s),
                if playable { "" } else { " disabled" },
                o.track,
                escape(name),
                format_time(o.start_s),
                format_time(o.end_s),
                o.end_s - o.start_s,
                signed(o.transpose),
                o.tempo_ratio,
                o.score
            );
        }
        out.push_str("</table>\n");
        for (k, f) in m.figures.iter().enumerate() {
            let places: Vec<String> = f
                .occurrences
                .iter()
                .map(|o| {
                    format!(
                        "{} {}-{}",
                        escape(track_name(&report.tracks, o.track)),
                        format_time(o.start_s),
                        format_time(o.end_s)
                    )
                })
                .collect();
            let _ = writeln!(
                out,
                "<p class=\"muted\">Figure {}.{} recurs inside it: {}</p>",
                m.id + 1,
                k + 1,
                places.join(", ")
            );
        }
        out.push_str("</section>\n");
    }
}

/// An `<img>` of a PNG, or nothing when the image cannot be made.
fn img(image: Option<images::Image>, what: &'static str, alt: &str) -> Option<String> {
    let png = images::encode_png(&image?, what).ok()?;
    Some(format!("<img alt=\"{}\" src=\"{}\">", escape(alt), images::png_data_uri(&png)))
}

/// The occurrences on track `t`: (motif, occurrence).
fn occurrences_on(report: &Report, t: usize) -> Vec<(usize, &OccurrenceEntry)> {
    report
        .motifs
        .iter()
        .flat_map(|m| m.occurrences.iter().filter(move |o| o.track == t).map(move |o| (m.id, o)))
        .collect()
}

fn chromagram_block(out: &mut String, report: &Report, t: usize, chroma: &[[f32; N_CHROMA]], hop_s: f64) {
    let Some(image) = img(images::chromagram_image(chroma, MAX_CHROMAGRAM_COLUMNS), "chromagram", "chromagram") else {
        return;
    };
    let span = chroma.len() as f64 * hop_s;
    out.push_str("<div class=\"chroma\"><div class=\"pcs\">");
    for pc in ROWS_TOP_DOWN {
        let _ = write!(out, "<span>{pc}</span>");
    }
    let on = occurrences_on(report, t);
    let spans: Vec<(f64, f64)> = on.iter().map(|(_, o)| (o.start_s, o.end_s)).collect();
    let (rows, n_rows) = pack_rows(&spans);
    let _ = write!(out, "</div><div>{image}<div class=\"marks\" style=\"height:{}px\">", n_rows * MARK_ROW_PX + 2);
    for ((motif, o), row) in on.iter().zip(&rows) {
        let _ = write!(
            out,
            "<span class=\"mark\" title=\"{}\" style=\"left:{:.3}%;width:{:.3}%;top:{}px;{}\"></span>",
            escape(&occurrence_title(*motif, track_name(&report.tracks, t), o)),
            pct(o.start_s, span),
            pct(o.end_s - o.start_s, span).max(0.3),
            row * MARK_ROW_PX + 1,
            fill(*motif)
        );
    }
    out.push_str("</div></div></div>\n");
}

/// The self-similarity matrix of track `t`, with each occurrence on it outlined on the
/// diagonal and each pair of occurrences of one motif outlined where their stripe should be.
fn similarity_block(out: &mut String, report: &Report, t: usize, chroma: &[[f32; N_CHROMA]], hop_s: f64) {
    let Some(image) = img(images::ssm_image(chroma, MAX_SSM_CELLS), "self-similarity", "self-similarity matrix") else {
        return;
    };
    let span = chroma.len() as f64 * hop_s;
    out.push_str(
        "<p class=\"muted\">Self-similarity (key-invariant): time runs right and down; a repeated passage shows as a \
         diagonal stripe. Outlines mark this track's occurrences.</p>\n",
    );
    let _ = write!(out, "<div class=\"ssm\">{image}");
    let on = occurrences_on(report, t);
    for (i, (ma, a)) in on.iter().enumerate() {
        for (mb, b) in &on[i..] {
            if ma != mb {
                continue;
            }
            let _ = write!(
                out,
                "<span class=\"box\" style=\"left:{:.3}%;top:{:.3}%;width:{:.3}%;height:{:.3}%;border-color:{}\"></span>",
                pct(b.start_s, span),
                pct(a.start_s, span),
                pct(b.end_s - b.start_s, span),
                pct(a.end_s - a.start_s, span),
                colour(*ma)
            );
        }
    }
    out.push_str("</div>\n");
}

fn track_sections(out: &mut String, inputs: &HtmlInputs<'_>) {
    let report = inputs.report;
    out.push_str("<h2>Tracks</h2>\n");
    for (t, entry) in report.tracks.iter().enumerate() {
        let n = occurrences_on(report, t).len();
        let _ = writeln!(
            out,
            "<section class=\"track\" id=\"track-{t}\"><h3>{}. {} <span class=\"muted\">({}, {n} occurrence{})</span></h3>\n\
             <p class=\"muted\"><span class=\"mono\">{}</span>{}{}{}</p>",
            t + 1,
            escape(entry.display_name()),
            format_time(entry.duration_s),
            plural(n),
            escape(&entry.path),
            tag("artist", entry.artist.as_ref()),
            tag("album", entry.album.as_ref()),
            entry.codec.as_ref().map_or_else(String::new, |c| format!(" &middot; {}", escape(c))),
        );
        if let Some((chroma, hop_s)) = inputs.view(t).and_then(|v| v.chroma) {
            chromagram_block(out, report, t, chroma, hop_s);
            if inputs.similarity_track == Some(t) {
                similarity_block(out, report, t, chroma, hop_s);
            }
        }
        out.push_str("</section>\n");
    }
}

fn param_summary(report: &Report) -> String {
    let mut parts = Vec::new();
    for (key, label) in [("threshold", "threshold"), ("min_len_s", "min length (s)"), ("query", "query")] {
        if let Some(v) = report.params.get(key) {
            let text = v.as_str().map_or_else(|| v.to_string(), str::to_owned);
            parts.push(format!("{label} {}", escape(&text)));
        }
    }
    parts.join(" &middot; ")
}

/// Renders a motif report page from the document and what is known about its tracks.
pub fn render_report(inputs: &HtmlInputs<'_>) -> String {
    let report = inputs.report;
    let is_query = report.params.contains_key("query");
    let n_occ: usize = report.motifs.iter().map(|m| m.occurrences.len()).sum();
    let mut b = String::new();
    let _ = writeln!(
        b,
        "<h1>leitmotif {}</h1>\n<p class=\"muted\">{} {} &middot; {} track{} &middot; {} motif{} &middot; {} occurrence{}{}{}</p>",
        if is_query { "query" } else { "report" },
        escape(&report.tool.name),
        escape(&report.tool.version),
        report.tracks.len(),
        plural(report.tracks.len()),
        report.motifs.len(),
        plural(report.motifs.len()),
        n_occ,
        plural(n_occ),
        if report.params.is_empty() { "" } else { " &middot; " },
        param_summary(report)
    );
    let urls: Vec<Option<String>> =
        (0..report.tracks.len()).map(|t| inputs.view(t).and_then(|v| v.audio_url.clone())).collect();
    sources(&mut b, "track", &urls);
    b.push_str("<h2>Timeline</h2>\n");
    if report.motifs.is_empty() {
        b.push_str("<p>No recurring motif found.</p>\n");
    } else {
        b.push_str("<p class=\"muted\">One lane per track; each block is one occurrence, coloured by motif. Hover for details, click to listen.</p>\n");
        motif_legend(&mut b, report);
    }
    motif_timeline(&mut b, report);
    section_table(&mut b, report);
    version_table(&mut b, report);
    if !report.motifs.is_empty() {
        b.push_str("<h2>Motifs</h2>\n");
        motif_tables(&mut b, inputs, is_query);
    }
    track_sections(&mut b, inputs);
    errors_table(&mut b, &report.errors);
    page(if is_query { "leitmotif query" } else { "leitmotif report" }, &b)
}

/// Renders a motif report from the document alone (no images, no play buttons that work).
pub fn report_page(report: &Report) -> String {
    render_report(&HtmlInputs::new(report))
}

/// Everything a cue sheet page is drawn from.
#[derive(Debug, Clone)]
pub struct CueHtmlInputs<'a> {
    /// The document.
    pub report: &'a CueReport,
    /// Per track (order of `report.tracks`): URL of its audio relative to the HTML file.
    pub track_urls: Vec<Option<String>>,
    /// Per episode (order of `report.episodes`): URL of its audio relative to the HTML file.
    pub episode_urls: Vec<Option<String>>,
}

impl<'a> CueHtmlInputs<'a> {
    /// Inputs holding only the document.
    pub fn new(report: &'a CueReport) -> Self {
        Self { report, track_urls: Vec::new(), episode_urls: Vec::new() }
    }

    /// Inputs with audio URLs for a page written into `html_dir`.
    pub fn for_dir(report: &'a CueReport, html_dir: &Path) -> Self {
        Self {
            report,
            track_urls: report.tracks.iter().map(|t| relative_url(html_dir, Path::new(&t.path))).collect(),
            episode_urls: report.episodes.iter().map(|e| relative_url(html_dir, Path::new(&e.path))).collect(),
        }
    }
}

/// Renders a cue sheet: a timeline lane per episode with its cues coloured by track, then per
/// episode the tracks that play in it and a table of cues with play buttons.
pub fn render_cues(inputs: &CueHtmlInputs<'_>) -> String {
    let report = inputs.report;
    let mut b = String::new();
    let _ = writeln!(
        b,
        "<h1>leitmotif cue sheet</h1>\n<p class=\"muted\">{} {} &middot; {} track{} &middot; {} episode{}</p>",
        escape(&report.tool.name),
        escape(&report.tool.version),
        report.tracks.len(),
        plural(report.tracks.len()),
        report.episodes.len(),
        plural(report.episodes.len())
    );
    sources(&mut b, "track", &inputs.track_urls);
    sources(&mut b, "episode", &inputs.episode_urls);
    b.push_str("<h2>Timeline</h2>\n<div class=\"legend\">");
    for (i, t) in report.tracks.iter().enumerate() {
        let _ = write!(
            b,
            "<span class=\"chip\" title=\"{}\"><span class=\"sw\" style=\"{}\"></span>{}</span>",
            escape(&t.path),
            fill(i),
            escape(t.display_name())
        );
    }
    b.push_str("</div>\n");
    let total = report.episodes.iter().map(|e| e.duration_s).fold(0.0, f64::max).max(1.0);
    let _ =
        writeln!(b, "<div class=\"timeline\" id=\"timeline\" style=\"--tick:{:.4}%\">", pct(tick_step(total), total));
    axis(&mut b, total);
    for (e, ep) in report.episodes.iter().enumerate() {
        let spans: Vec<(f64, f64)> = ep.cues.iter().map(|c| (c.start_s, c.end_s)).collect();
        let (rows, n_rows) = pack_rows(&spans);
        let _ = write!(
            b,
            "<div class=\"row\"><div class=\"name\" title=\"{0}\"><span><a href=\"#episode-{1}\">{0}</a></span></div>\
             <div class=\"lane\" style=\"height:{2}px\"><span class=\"extent\" style=\"width:{3:.3}%\"></span>",
            escape(super::base_name(&ep.path)),
            e,
            lane_height(n_rows),
            pct(ep.duration_s, total)
        );
        for (c, row) in ep.cues.iter().zip(&rows) {
            let name = track_name(&report.tracks, c.track);
            let title = format!(
                "{name} \u{b7} {}\u{2013}{} (from {} in the track) \u{b7} key {} \u{b7} score {:.2}",
                format_time(c.start_s),
                format_time(c.end_s),
                format_time(c.track_start_s),
                signed(c.transpose),
                c.score
            );
            let _ = write!(
                b,
                "<button type=\"button\" class=\"occ\" data-cue-track=\"{}\" data-kind=\"episode\" data-track=\"{e}\" \
                 data-start=\"{}\" data-end=\"{}\" data-label=\"{}\" title=\"{}\" \
                 style=\"left:{:.3}%;width:{:.3}%;top:{}px;{}\"></button>",
                c.track,
                c.start_s,
                c.end_s,
                escape(&title),
                escape(&title),
                pct(c.start_s, total),
                pct(c.end_s - c.start_s, total),
                row * LANE_ROW_PX + 1,
                fill(c.track)
            );
        }
        b.push_str("</div></div>\n");
    }
    b.push_str("</div>\n");
    for (e, ep) in report.episodes.iter().enumerate() {
        let _ = writeln!(
            b,
            "<section class=\"episode\" id=\"episode-{e}\"><h2>{} <span class=\"muted\">({}, {} cue{})</span></h2>",
            escape(&ep.path),
            format_time(ep.duration_s),
            ep.cues.len(),
            plural(ep.cues.len())
        );
        let mut playing: Vec<usize> = ep.cues.iter().map(|c| c.track).collect();
        playing.sort_unstable();
        playing.dedup();
        if !playing.is_empty() {
            b.push_str("<div class=\"legend\">");
            for t in playing {
                let count = ep.cues.iter().filter(|c| c.track == t).count();
                let _ = write!(
                    b,
                    "<span class=\"chip\"><span class=\"sw\" style=\"{}\"></span>{} <span class=\"muted\">&times;{count}</span></span>",
                    fill(t),
                    escape(track_name(&report.tracks, t))
                );
            }
            b.push_str("</div>\n");
        }
        b.push_str(
            "<table>\n<tr><th>episode</th><th>start</th><th>end</th><th>length</th><th>track</th><th>track time</th><th></th>\
             <th>key shift</th><th>score</th></tr>\n",
        );
        let ep_playable = inputs.episode_urls.get(e).is_some_and(Option::is_some);
        for c in &ep.cues {
            let name = track_name(&report.tracks, c.track);
            let track_playable = inputs.track_urls.get(c.track).is_some_and(Option::is_some);
            let track_end = c.track_start_s + (c.end_s - c.start_s);
            // The library themes the cue plays (`cues --lib`), after the track's name.
            let themes = if c.themes.is_empty() {
                String::new()
            } else {
                format!(" <span class=\"muted\">({})</span>", escape(&c.themes.join("; ")))
            };
            let _ = writeln!(
                b,
                "<tr><td><button type=\"button\" class=\"play\" data-kind=\"episode\" data-track=\"{e}\" data-start=\"{}\" \
                 data-end=\"{}\" data-label=\"{}\"{}>&#9654;</button></td><td class=\"n\">{}</td><td class=\"n\">{}</td>\
                 <td class=\"n\">{:.1} s</td><td><span class=\"sw\" style=\"{}\"></span> {}{themes}</td><td class=\"n\">{}</td>\
                 <td><button type=\"button\" class=\"play\" data-kind=\"track\" data-track=\"{}\" data-start=\"{}\" \
                 data-end=\"{}\" data-label=\"{}\"{}>&#9654;</button></td><td class=\"n\">{}</td><td class=\"n\">{:.2}</td></tr>",
                c.start_s,
                c.end_s,
                escape(&format!(
                    "{} {}\u{2013}{}",
                    super::base_name(&ep.path),
                    format_time(c.start_s),
                    format_time(c.end_s)
                )),
                if ep_playable { "" } else { " disabled" },
                format_time(c.start_s),
                format_time(c.end_s),
                c.end_s - c.start_s,
                fill(c.track),
                escape(name),
                format_time(c.track_start_s),
                c.track,
                c.track_start_s,
                track_end,
                escape(&format!("{name} {}\u{2013}{}", format_time(c.track_start_s), format_time(track_end))),
                if track_playable { "" } else { " disabled" },
                signed(c.transpose),
                c.score
            );
        }
        b.push_str("</table>\n</section>\n");
    }
    errors_table(&mut b, &report.errors);
    page("leitmotif cue sheet", &b)
}

/// Renders a cue sheet from the document alone.
pub fn cues_page(report: &CueReport) -> String {
    render_cues(&CueHtmlInputs::new(report))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_urls_climb_and_encode() {
        let dir = tempfile::tempdir().expect("tempdir");
        let music = dir.path().join("ost").join("a b#1.wav");
        let out = dir.path().join("reports").join("today");
        std::fs::create_dir_all(music.parent().expect("parent")).expect("mkdir");
        std::fs::create_dir_all(&out).expect("mkdir");
        std::fs::write(&music, b"x").expect("write");
        assert_eq!(relative_url(&out, &music).as_deref(), Some("../../ost/a%20b%231.wav"));
        assert_eq!(relative_url(dir.path(), &music).as_deref(), Some("ost/a%20b%231.wav"));
    }

    #[test]
    fn rows_are_packed_without_overlap() {
        let (rows, n) = pack_rows(&[(0.0, 5.0), (1.0, 3.0), (5.0, 6.0), (2.0, 7.0)]);
        assert_eq!(rows, vec![0, 1, 0, 2]);
        assert_eq!(n, 3);
        assert_eq!(pack_rows(&[]).1, 1);
    }

    #[test]
    fn ticks_and_colours() {
        assert_eq!(tick_step(100.0), 10.0);
        assert_eq!(tick_step(3600.0), 300.0);
        assert_eq!(crate::units::format_clock(3725.0), "1:02:05");
        assert_eq!(colour(0), "#4e79a7");
        assert!(colour(25).starts_with("hsl("));
        let all: std::collections::HashSet<String> = (0..20).map(colour).collect();
        assert_eq!(all.len(), 20);
    }

    #[test]
    fn motifs_past_ten_carry_a_pattern_per_group_of_ten() {
        assert_eq!(fill(9), "background:#17becf");
        assert!(fill(10).contains("gradient(") && fill(10).ends_with("#bcbd22"));
        assert_ne!(fill(10).replace(&colour(10), ""), fill(20).replace(&colour(20), ""));
        let fills: std::collections::HashSet<String> = (0..60).map(fill).collect();
        assert_eq!(fills.len(), 60);
    }
}
