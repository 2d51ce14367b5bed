use leitmotif::features::*;
use leitmotif::chroma::*;
use leitmotif::source::MemorySource;

fn load(p: &str) -> Vec<f32> {
    let b = std::fs::read(p).expect("read");
    b.chunks_exact(4).map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect()
}

#[test]
fn scratch() {
    let mut state = 12345u64;
    let noise: Vec<f32> = (0..44100*10).map(|_| { state ^= state << 13; state ^= state >> 7; state ^= state << 17; ((state >> 40) as f32 / (1u64<<24) as f32 - 0.5) * 0.5 }).collect();
    let mut pink = vec![0f32; noise.len()];
    let (mut b0, mut b1, mut b2) = (0f32, 0f32, 0f32);
    for (i, &w) in noise.iter().enumerate() { b0 = 0.99765*b0 + w*0.0990460; b1 = 0.96300*b1 + w*0.2965164; b2 = 0.57000*b2 + w*1.0526913; pink[i] = b0+b1+b2+w*0.1848; }
    for clar in [1.5f32, 2.0, 2.5, 3.0, 3.5, 4.0] {
        let cfg = FeatureConfig { melody: MelodyConfig { min_clarity: clar, ..Default::default() }, ..Default::default() };
        let mut line = format!("clar {clar}:");
        for (name, x) in [("white", &noise), ("pink", &pink)] {
            let f = extract(&mut MemorySource::new(x.clone(), 44100), &cfg).expect("x");
            let pitched = f.melody.iter().filter(|m| m.iter().any(|&v| v > 0.0)).count();
            line += &format!(" {name} {pitched}/{}", f.melody.len());
        }
        for i in 1..=7 {
            let x = load(&format!("/tmp/lm/t{i}.f32"));
            let f = extract(&mut MemorySource::new(x, 44100), &cfg).expect("x");
            let nonsil = f.energy_db.iter().filter(|&&d| d >= -70.0).count();
            let pitched = f.melody.iter().filter(|m| m.iter().any(|&v| v > 0.0)).count();
            line += &format!(" t{i} {:.0}%", 100.0 * pitched as f64 / nonsil as f64);
        }
        println!("{line}");
    }
}
