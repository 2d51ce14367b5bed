//! The one thing read from an MP4 (ISO BMFF) container besides what the demuxer gives: the edit
//! list of the first audio track, whose first edit says how many encoder priming frames a player
//! skips. AAC encoders put 1,024 or 2,112 frames of warm-up before the audio; ffmpeg and every
//! player drop them, and a decoder that does not is that far behind the same music in any other
//! file, which shifts every cue found in an episode against its tracks.

use std::io::{Read, Seek, SeekFrom};

/// A `moov` box larger than this is not read (real ones are kilobytes to a few megabytes).
const MAX_MOOV_BYTES: u64 = 64 << 20;

/// The start of the first audio track's first non-empty edit: (media time, media timescale), the
/// media time being the frames (in that timescale) to skip before the edit begins. `None` when
/// the file has no such edit or cannot be read as ISO BMFF.
pub(crate) fn audio_edit_start<R: Read + Seek>(mut file: R) -> Option<(u64, u32)> {
    let moov = top_level_box(&mut file, b"moov")?;
    for trak in children(&moov).filter(|(kind, _)| kind == b"trak").map(|(_, body)| body) {
        let Some(mdia) = child(trak, b"mdia") else { continue };
        // hdlr: version and flags (4), pre_defined (4), handler type (4).
        if child(mdia, b"hdlr").and_then(|h| h.get(8..12)) != Some(b"soun".as_slice()) {
            continue;
        }
        let timescale = media_timescale(child(mdia, b"mdhd")?)?;
        let elst = child(child(trak, b"edts")?, b"elst")?;
        return first_media_time(elst).map(|t| (t, timescale));
    }
    None
}

/// The body of the first top-level box of type `kind`, read by skipping the others.
fn top_level_box<R: Read + Seek>(file: &mut R, kind: &[u8; 4]) -> Option<Vec<u8>> {
    file.seek(SeekFrom::Start(0)).ok()?;
    loop {
        let mut header = [0u8; 8];
        file.read_exact(&mut header).ok()?;
        let size = u64::from(u32::from_be_bytes(header[..4].try_into().ok()?));
        let (body_len, found) = match size {
            // A size of 0 runs to the end of the file: nothing follows it.
            0 => return None,
            1 => {
                let mut large = [0u8; 8];
                file.read_exact(&mut large).ok()?;
                (u64::from_be_bytes(large).checked_sub(16)?, header[4..8] == kind[..])
            }
            _ => (size.checked_sub(8)?, header[4..8] == kind[..]),
        };
        if found {
            if body_len > MAX_MOOV_BYTES {
                return None;
            }
            let mut body = vec![0u8; usize::try_from(body_len).ok()?];
            file.read_exact(&mut body).ok()?;
            return Some(body);
        }
        file.seek(SeekFrom::Current(i64::try_from(body_len).ok()?)).ok()?;
    }
}

/// The boxes inside `data`: (type, body), stopping at the first malformed header.
fn children(data: &[u8]) -> impl Iterator<Item = ([u8; 4], &[u8])> {
    let mut rest = data;
    std::iter::from_fn(move || {
        let size = u32::from_be_bytes(rest.get(..4)?.try_into().ok()?) as usize;
        let kind: [u8; 4] = rest.get(4..8)?.try_into().ok()?;
        let (start, end) = match size {
            0 => (8, rest.len()),
            1 => {
                let large = u64::from_be_bytes(rest.get(8..16)?.try_into().ok()?);
                (16, usize::try_from(large).ok()?)
            }
            _ => (8, size),
        };
        let body = rest.get(start..end)?;
        rest = &rest[end..];
        Some((kind, body))
    })
}

fn child<'a>(data: &'a [u8], kind: &[u8; 4]) -> Option<&'a [u8]> {
    children(data).find(|(k, _)| k == kind).map(|(_, body)| body)
}

fn be_u32(data: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_be_bytes(data.get(at..at + 4)?.try_into().ok()?))
}

fn be_u64(data: &[u8], at: usize) -> Option<u64> {
    Some(u64::from_be_bytes(data.get(at..at + 8)?.try_into().ok()?))
}

/// mdhd: version 0 has 32-bit creation and modification times before the timescale, version 1
/// 64-bit ones.
fn media_timescale(mdhd: &[u8]) -> Option<u32> {
    let at = if *mdhd.first()? == 1 { 20 } else { 12 };
    be_u32(mdhd, at).filter(|&t| t > 0)
}

/// elst: the media time of the first edit that is not empty (an empty edit, media time -1,
/// delays the track instead of trimming it).
fn first_media_time(elst: &[u8]) -> Option<u64> {
    let version = *elst.first()?;
    let count = be_u32(elst, 4)? as usize;
    let entry = if version == 1 { 20 } else { 12 };
    (0..count.min(elst.len() / entry)).find_map(|i| {
        let at = 8 + i * entry;
        let media_time = if version == 1 { be_u64(elst, at + 8)? as i64 } else { be_u32(elst, at + 4)? as i32 as i64 };
        u64::try_from(media_time).ok()
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Cursor;

    fn boxed(kind: &[u8; 4], body: &[u8]) -> Vec<u8> {
        let mut out = ((body.len() + 8) as u32).to_be_bytes().to_vec();
        out.extend_from_slice(kind);
        out.extend_from_slice(body);
        out
    }

    fn trak(handler: &[u8; 4], media_time: i32) -> Vec<u8> {
        let hdlr = boxed(b"hdlr", &[&[0u8; 8][..], handler, &[0u8; 12]].concat());
        let mdhd = boxed(b"mdhd", &[&[0u8; 12][..], &44_100u32.to_be_bytes(), &[0u8; 8]].concat());
        let elst = boxed(
            b"elst",
            &[
                &[0u8, 0, 0, 0][..],
                &2u32.to_be_bytes(),
                &1000u32.to_be_bytes(),
                &(-1i32).to_be_bytes(),
                &[0, 1, 0, 0],
                &1000u32.to_be_bytes(),
                &media_time.to_be_bytes(),
                &[0, 1, 0, 0],
            ]
            .concat(),
        );
        boxed(b"trak", &[boxed(b"edts", &elst), boxed(b"mdia", &[hdlr, mdhd].concat())].concat())
    }

    #[test]
    fn the_first_audio_tracks_first_real_edit_is_read_past_other_boxes() {
        let moov = boxed(b"moov", &[trak(b"vide", 5), trak(b"soun", 2112)].concat());
        let file = [boxed(b"ftyp", b"M4A "), boxed(b"mdat", &[7u8; 100]), moov].concat();
        assert_eq!(audio_edit_start(Cursor::new(file)), Some((2112, 44_100)));
    }

    #[test]
    fn malformed_or_missing_boxes_give_nothing() {
        assert_eq!(audio_edit_start(Cursor::new(Vec::new())), None);
        assert_eq!(audio_edit_start(Cursor::new(boxed(b"ftyp", b"M4A "))), None);
        let mut cut = boxed(b"moov", &trak(b"soun", 1024));
        cut.truncate(cut.len() - 10);
        assert_eq!(audio_edit_start(Cursor::new(cut)), None);
        let mut huge = 0xffff_fff0u32.to_be_bytes().to_vec();
        huge.extend_from_slice(b"moov");
        assert_eq!(audio_edit_start(Cursor::new(huge)), None);
    }
}
