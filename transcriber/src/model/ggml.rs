//! Writer for the ggml file whisper.cpp 1.8.3 loads: hyper-parameters, mel filters, the byte
//! vocabulary, then every tensor under whisper.cpp's names. The layout is written out in
//! transcriber/README.md, "Model import".
use std::io::Write;

/// `ggml` in ASCII, the first i32 of the file.
pub const MAGIC: u32 = 0x6767_6d6c;
pub const N_MELS: usize = 80;
/// Bins of a 400-point FFT.
pub const N_FFT_BINS: usize = 201;

/// Element type of an output tensor (ggml's `ggml_type` numbers).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TensorType {
    F32 = 0,
    F16 = 1,
    Q4_0 = 2,
    Q5_0 = 6,
    Q8_0 = 8,
}

/// ggml's quantization format version, stored with the file type (`ftype = 1000 * version +
/// type`).
const QNT_VERSION: i32 = 2;

/// The element type of a model's weight matrices (`opencourt model import --type`). The
/// convolutions stay f16 and biases, norms and position tables f32, as whisper.cpp expects.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum WeightType {
    F16,
    /// 8-bit blocks: half the size of f16, and int8 matrix products on the CPU.
    #[default]
    #[value(name = "q8_0")]
    Q8_0,
    #[value(name = "q5_0")]
    Q5_0,
    #[value(name = "q4_0")]
    Q4_0,
}

impl WeightType {
    pub fn tensor_type(self) -> TensorType {
        match self {
            WeightType::F16 => TensorType::F16,
            WeightType::Q8_0 => TensorType::Q8_0,
            WeightType::Q5_0 => TensorType::Q5_0,
            WeightType::Q4_0 => TensorType::Q4_0,
        }
    }

    /// The header's `ftype` field (ggml's `ggml_ftype`, with the quantization version).
    pub fn ftype(self) -> i32 {
        match self {
            WeightType::F16 => 1,
            WeightType::Q4_0 => QNT_VERSION * 1000 + 2,
            WeightType::Q8_0 => QNT_VERSION * 1000 + 7,
            WeightType::Q5_0 => QNT_VERSION * 1000 + 8,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            WeightType::F16 => "f16",
            WeightType::Q8_0 => "q8_0",
            WeightType::Q5_0 => "q5_0",
            WeightType::Q4_0 => "q4_0",
        }
    }

    /// The weight type a header's `ftype` names.
    pub fn from_ftype(ftype: i32) -> Option<WeightType> {
        [
            WeightType::F16,
            WeightType::Q8_0,
            WeightType::Q5_0,
            WeightType::Q4_0,
        ]
        .into_iter()
        .find(|w| w.ftype() == ftype)
    }
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
    /// The weight matrices' type: 1 is f16, quantized types carry ggml's quantization version
    /// (see [`WeightType::ftype`]).
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
        TensorType::Q4_0 | TensorType::Q5_0 | TensorType::Q8_0 => {
            let row = *dims.last().unwrap_or(&0);
            buf = quantize(ty, values, row)
                .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidInput, e))?;
        }
    }
    w.write_all(&buf)
}

/// Values per quantization block (ggml's `QK8_0`, `QK5_0`, `QK4_0`).
pub const QK: usize = 32;

/// Quantizes rows of `n_per_row` values into ggml's block formats, byte for byte what ggml's
/// reference quantizers (`quantize_row_q8_0_ref` and friends) write: per block of 32, an f16 scale
/// then the packed integers.
pub fn quantize(ty: TensorType, values: &[f32], n_per_row: usize) -> Result<Vec<u8>, String> {
    if n_per_row == 0 || !n_per_row.is_multiple_of(QK) || !values.len().is_multiple_of(n_per_row) {
        return Err(format!(
            "rows of {n_per_row} values cannot be quantized in blocks of {QK}"
        ));
    }
    let block_bytes = match ty {
        TensorType::Q8_0 => 2 + QK,
        TensorType::Q5_0 => 2 + 4 + QK / 2,
        TensorType::Q4_0 => 2 + QK / 2,
        TensorType::F32 | TensorType::F16 => return Err(format!("{ty:?} is not quantized")),
    };
    let mut out = Vec::with_capacity(values.len() / QK * block_bytes);
    for x in values.chunks_exact(QK) {
        match ty {
            TensorType::Q8_0 => {
                let amax = x.iter().fold(0f32, |m, v| m.max(v.abs()));
                let d = amax / 127.0;
                let id = if d != 0.0 { 1.0 / d } else { 0.0 };
                out.extend_from_slice(&half::f16::from_f32(d).to_le_bytes());
                out.extend(x.iter().map(|v| ((v * id).round() as i8) as u8));
            }
            TensorType::Q5_0 | TensorType::Q4_0 => {
                let levels = if ty == TensorType::Q5_0 { 16.0 } else { 8.0 };
                // The value of largest magnitude, with its sign, maps to -levels.
                let max = x
                    .iter()
                    .fold(0f32, |m, &v| if v.abs() > m.abs() { v } else { m });
                let d = max / -levels;
                let id = if d != 0.0 { 1.0 / d } else { 0.0 };
                let top = (2.0 * levels - 1.0) as u8;
                let q = |v: f32| ((v * id + levels + 0.5) as i8 as u8).min(top);
                out.extend_from_slice(&half::f16::from_f32(d).to_le_bytes());
                if ty == TensorType::Q5_0 {
                    let mut qh = 0u32;
                    for j in 0..QK / 2 {
                        qh |= u32::from((q(x[j]) & 0x10) >> 4) << j;
                        qh |= u32::from((q(x[j + QK / 2]) & 0x10) >> 4) << (j + QK / 2);
                    }
                    out.extend_from_slice(&qh.to_le_bytes());
                }
                for j in 0..QK / 2 {
                    out.push((q(x[j]) & 0x0f) | ((q(x[j + QK / 2]) & 0x0f) << 4));
                }
            }
            TensorType::F32 | TensorType::F16 => unreachable!("checked above"),
        }
    }
    Ok(out)
}

/// The values of quantized blocks (what whisper.cpp's kernels compute with).
pub fn dequantize(ty: TensorType, bytes: &[u8]) -> Vec<f32> {
    let scale = |b: &[u8]| half::f16::from_le_bytes([b[0], b[1]]).to_f32();
    let mut out = Vec::new();
    match ty {
        TensorType::Q8_0 => {
            for b in bytes.chunks_exact(2 + QK) {
                let d = scale(b);
                out.extend(b[2..].iter().map(|&q| f32::from(q as i8) * d));
            }
        }
        TensorType::Q5_0 => {
            for b in bytes.chunks_exact(2 + 4 + QK / 2) {
                let d = scale(b);
                let qh = u32::from_le_bytes([b[2], b[3], b[4], b[5]]);
                let qs = &b[6..];
                let mut block = [0f32; QK];
                for j in 0..QK / 2 {
                    let lo = (qs[j] & 0x0f) | ((((qh >> j) & 1) as u8) << 4);
                    let hi = (qs[j] >> 4) | ((((qh >> (j + QK / 2)) & 1) as u8) << 4);
                    block[j] = (f32::from(lo) - 16.0) * d;
                    block[j + QK / 2] = (f32::from(hi) - 16.0) * d;
                }
                out.extend_from_slice(&block);
            }
        }
        TensorType::Q4_0 => {
            for b in bytes.chunks_exact(2 + QK / 2) {
                let d = scale(b);
                let mut block = [0f32; QK];
                for j in 0..QK / 2 {
                    block[j] = (f32::from(b[2 + j] & 0x0f) - 8.0) * d;
                    block[j + QK / 2] = (f32::from(b[2 + j] >> 4) - 8.0) * d;
                }
                out.extend_from_slice(&block);
            }
        }
        TensorType::F32 | TensorType::F16 => {}
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantized_blocks_round_trip_within_half_a_step() {
        // Two rows of 64: a ramp, a row with one large negative outlier, and a zero block.
        let mut values: Vec<f32> = (0..64).map(|i| (i as f32 - 31.5) / 10.0).collect();
        values.extend((0..32).map(|i| if i == 7 { -9.0 } else { (i as f32).sin() }));
        values.extend([0.0; 32]);
        for (ty, steps, size) in [
            (TensorType::Q8_0, 127.0, 34),
            (TensorType::Q5_0, 16.0, 22),
            (TensorType::Q4_0, 8.0, 18),
        ] {
            let bytes = quantize(ty, &values, 64).unwrap();
            assert_eq!(bytes.len(), values.len() / QK * size, "{ty:?}");
            let back = dequantize(ty, &bytes);
            for (block, got) in values.chunks(QK).zip(back.chunks(QK)) {
                let amax = block.iter().fold(0f32, |m, v| m.max(v.abs()));
                // Half a step, and a full one at the clipped top of the 4/5-bit range.
                let tolerance = amax / steps + 1e-3;
                for (v, g) in block.iter().zip(got) {
                    assert!((v - g).abs() <= tolerance, "{ty:?}: {v} came back as {g}");
                }
            }
            // The largest magnitude is represented exactly (up to the f16 scale).
            assert!(
                (back[64 + 7] + 9.0).abs() < 0.01,
                "{ty:?}: {}",
                back[64 + 7]
            );
        }
        assert_eq!(
            quantize(TensorType::Q8_0, &values, 48).err().as_deref(),
            Some("rows of 48 values cannot be quantized in blocks of 32")
        );
    }

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
        assert_eq!(
            tokens_from_vocabulary("a\nb").err().as_deref(),
            Some("vocabulary has no <|endoftext|> token")
        );
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
        assert_eq!(
            Hparams::read(b"RIFF....WAVEfmt ").err().as_deref(),
            Some("bad magic 0x46464952 (expected 0x67676d6c)")
        );
    }
}
