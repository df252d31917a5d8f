//! Writer for the ggml file whisper.cpp 1.8.3 loads: hyper-parameters, mel filters, the byte
//! vocabulary, then every tensor under whisper.cpp's names. See
//! `shared/notes/whisper-ct2-to-ggml.md` for the layout this follows.
use std::io::Write;

/// `ggml` in ASCII, the first i32 of the file.
pub const MAGIC: u32 = 0x6767_6d6c;
pub const N_MELS: usize = 80;
/// Bins of a 400-point FFT.
pub const N_FFT_BINS: usize = 201;

/// Element type of an output tensor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TensorType {
    F32 = 0,
    F16 = 1,
}

/// Hyper-parameters in the order the header stores them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Hparams {
    pub n_vocab: i32,
    pub n_audio_ctx: i32,
    pub n_audio_state: i32,
    pub n_audio_head: i32,
    pub n_audio_layer: i32,
    pub n_text_ctx: i32,
    pub n_text_state: i32,
    pub n_text_head: i32,
    pub n_text_layer: i32,
    pub n_mels: i32,
    /// 1: f16 weights.
    pub ftype: i32,
}

impl Hparams {
    fn fields(&self) -> [i32; 11] {
        [
            self.n_vocab,
            self.n_audio_ctx,
            self.n_audio_state,
            self.n_audio_head,
            self.n_audio_layer,
            self.n_text_ctx,
            self.n_text_state,
            self.n_text_head,
            self.n_text_layer,
            self.n_mels,
            self.ftype,
        ]
    }

    /// Reads the header of a ggml Whisper file, or says why it is not one.
    pub fn read(bytes: &[u8]) -> Result<Self, String> {
        let word = |i: usize| -> Option<i32> {
            Some(i32::from_le_bytes(
                bytes.get(i * 4..i * 4 + 4)?.try_into().ok()?,
            ))
        };
        let magic = word(0).ok_or("file is shorter than a ggml header")?;
        if magic as u32 != MAGIC {
            return Err(format!(
                "bad magic {:#010x} (expected {MAGIC:#010x})",
                magic as u32
            ));
        }
        let mut f = [0i32; 11];
        for (i, v) in f.iter_mut().enumerate() {
            *v = word(i + 1).ok_or("file is shorter than a ggml header")?;
        }
        let h = Hparams {
            n_vocab: f[0],
            n_audio_ctx: f[1],
            n_audio_state: f[2],
            n_audio_head: f[3],
            n_audio_layer: f[4],
            n_text_ctx: f[5],
            n_text_state: f[6],
            n_text_head: f[7],
            n_text_layer: f[8],
            n_mels: f[9],
            ftype: f[10],
        };
        if h.fields().iter().take(10).any(|&v| v <= 0) || h.n_mels != N_MELS as i32 {
            return Err(format!("implausible hyper-parameters {h:?}"));
        }
        Ok(h)
    }
}

/// The Slaney-scale, Slaney-normalised mel filterbank for 16 kHz and a 400-point FFT
/// (`librosa.filters.mel(sr=16000, n_fft=400, n_mels=80)`), row-major `[80][201]`.
pub fn mel_filters() -> Vec<f32> {
    const SR: f64 = 16_000.0;
    let f_sp = 200.0 / 3.0;
    let min_log_hz = 1000.0;
    let min_log_mel = min_log_hz / f_sp;
    let logstep = 6.4f64.ln() / 27.0;
    let hz_to_mel = |f: f64| {
        if f >= min_log_hz {
            min_log_mel + (f / min_log_hz).ln() / logstep
        } else {
            f / f_sp
        }
    };
    let mel_to_hz = |m: f64| {
        if m >= min_log_mel {
            min_log_hz * (logstep * (m - min_log_mel)).exp()
        } else {
            f_sp * m
        }
    };
    let fft_freqs: Vec<f64> = (0..N_FFT_BINS)
        .map(|i| i as f64 * (SR / 2.0) / (N_FFT_BINS - 1) as f64)
        .collect();
    let (lo, hi) = (hz_to_mel(0.0), hz_to_mel(SR / 2.0));
    let mel_f: Vec<f64> = (0..N_MELS + 2)
        .map(|i| mel_to_hz(lo + (hi - lo) * i as f64 / (N_MELS + 1) as f64))
        .collect();
    let mut out = Vec::with_capacity(N_MELS * N_FFT_BINS);
    for i in 0..N_MELS {
        let enorm = 2.0 / (mel_f[i + 2] - mel_f[i]);
        for &f in &fft_freqs {
            let lower = (f - mel_f[i]) / (mel_f[i + 1] - mel_f[i]);
            let upper = (mel_f[i + 2] - f) / (mel_f[i + 2] - mel_f[i + 1]);
            out.push((lower.min(upper).max(0.0) * enorm) as f32);
        }
    }
    out
}

/// GPT-2's `bytes_to_unicode()` inverted: the printable character each byte was mapped to → the
/// byte.
fn unicode_to_byte() -> std::collections::HashMap<char, u8> {
    let printable = |b: u32| {
        (u32::from('!')..=u32::from('~')).contains(&b)
            || (0xA1..=0xAC).contains(&b)
            || (0xAE..=0xFF).contains(&b)
    };
    let mut map = std::collections::HashMap::new();
    let mut n = 0;
    for b in 0..=255u32 {
        let c = if printable(b) {
            b
        } else {
            n += 1;
            255 + n
        };
        map.insert(char::from_u32(c).expect("valid code point"), b as u8);
    }
    map
}

/// Token byte strings from a `vocabulary.txt`: the lines before the first `<|endoftext|>`, split
/// on `\n` only (an empty line is a real, empty token).
pub fn tokens_from_vocabulary(text: &str) -> Result<Vec<Vec<u8>>, String> {
    let inverse = unicode_to_byte();
    let mut tokens = Vec::new();
    for (line_no, line) in text.split('\n').enumerate() {
        if line == "<|endoftext|>" {
            return Ok(tokens);
        }
        let bytes = line
            .chars()
            .map(|c| inverse.get(&c).copied())
            .collect::<Option<Vec<u8>>>()
            .ok_or_else(|| format!("vocabulary line {} is not a byte-level token", line_no + 1))?;
        tokens.push(bytes);
    }
    Err("vocabulary has no <|endoftext|> token".into())
}

/// Streams the file out: header, filters, vocabulary; then [`write_tensor`] for each tensor.
pub fn write_header(w: &mut impl Write, h: &Hparams, tokens: &[Vec<u8>]) -> std::io::Result<()> {
    w.write_all(&MAGIC.to_le_bytes())?;
    for v in h.fields() {
        w.write_all(&v.to_le_bytes())?;
    }
    w.write_all(&(N_MELS as i32).to_le_bytes())?;
    w.write_all(&(N_FFT_BINS as i32).to_le_bytes())?;
    for v in mel_filters() {
        w.write_all(&v.to_le_bytes())?;
    }
    w.write_all(&(tokens.len() as i32).to_le_bytes())?;
    for t in tokens {
        w.write_all(&(t.len() as i32).to_le_bytes())?;
        w.write_all(t)?;
    }
    Ok(())
}

/// One tensor: `dims` row-major as in PyTorch; the file stores them reversed.
pub fn write_tensor(
    w: &mut impl Write,
    name: &str,
    dims: &[usize],
    ty: TensorType,
    values: &[f32],
) -> std::io::Result<()> {
    w.write_all(&(dims.len() as i32).to_le_bytes())?;
    w.write_all(&(name.len() as i32).to_le_bytes())?;
    w.write_all(&(ty as i32).to_le_bytes())?;
    for &d in dims.iter().rev() {
        w.write_all(&(d as i32).to_le_bytes())?;
    }
    w.write_all(name.as_bytes())?;
    let mut buf = Vec::with_capacity(values.len() * 4);
    match ty {
        TensorType::F32 => values
            .iter()
            .for_each(|v| buf.extend_from_slice(&v.to_le_bytes())),
        TensorType::F16 => values
            .iter()
            .for_each(|&v| buf.extend_from_slice(&half::f16::from_f32(v).to_le_bytes())),
    }
    w.write_all(&buf)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mel_filters_match_librosa_spot_values() {
        let m = mel_filters();
        assert_eq!(m.len(), N_MELS * N_FFT_BINS);
        // librosa.filters.mel(sr=16000, n_fft=400, n_mels=80)[0, 1] and [79, 195]
        assert!((m[1] - 0.024_862_4).abs() < 1e-5, "{}", m[1]);
        assert!(m[0].abs() < 1e-9);
        let row79 = &m[79 * N_FFT_BINS..];
        assert!(row79.iter().any(|&v| v > 0.0));
    }

    #[test]
    fn byte_level_tokens_round_trip() {
        // "Ġ" is the space byte; "Ċ" the newline; an empty line is an empty token.
        let t = tokens_from_vocabulary("!\nĠthe\nĊ\n\n<|endoftext|>\nx").unwrap();
        assert_eq!(
            t,
            vec![b"!".to_vec(), b" the".to_vec(), b"\n".to_vec(), vec![]]
        );
        assert!(tokens_from_vocabulary("a\nb").is_err());
    }

    #[test]
    fn header_round_trips() {
        let h = Hparams {
            n_vocab: 51864,
            n_audio_ctx: 1500,
            n_audio_state: 384,
            n_audio_head: 6,
            n_audio_layer: 4,
            n_text_ctx: 448,
            n_text_state: 384,
            n_text_head: 6,
            n_text_layer: 4,
            n_mels: 80,
            ftype: 1,
        };
        let mut out = Vec::new();
        write_header(&mut out, &h, &[b"a".to_vec()]).unwrap();
        assert_eq!(Hparams::read(&out).unwrap(), h);
        assert!(Hparams::read(b"RIFF....WAVEfmt ").is_err());
    }
}
