// 在线验证: recomputes a spotcheck draw in the visitor's browser.
//
// Written from docs/DRAW-SPEC.md section 1 ("spotcheck-draw-v1") alone,
// independently of the server's Go code, with the browser's WebCrypto
// (SHA-256, HMAC-SHA256). Nothing is sent anywhere: a batch's public files
// are fetched from this site, or read from files the visitor chooses.

const ALGORITHM = "spotcheck-draw-v1";
const TAB = 0x09, LF = 0x0a, CR = 0x0d;
const utf8 = new TextEncoder();
const strictUTF8 = new TextDecoder("utf-8", { fatal: true });

// A Mismatch names the first field of the proof (or line of the
// population) that the recomputation does not reproduce.
class Mismatch extends Error {
  constructor(field, message) {
    super(message);
    this.field = field;
  }
}

function hex(bytes) {
  let s = "";
  for (const b of bytes) s += b.toString(16).padStart(2, "0");
  return s;
}

function fromHex(s) {
  if (typeof s !== "string" || s.length % 2 !== 0 || !/^[0-9a-f]*$/.test(s)) return null;
  const out = new Uint8Array(s.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(s.substr(2 * i, 2), 16);
  return out;
}

function concat(parts) {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

async function sha256(bytes) {
  return new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
}

// compareBytes orders byte strings bytewise, a shorter prefix first.
function compareBytes(a, b) {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    if (a[i] !== b[i]) return a[i] - b[i];
  }
  return a.length - b.length;
}

// seed = SHA256("spotcheck-draw-v1" || 0x00 || batch_id || 0x00 || nonce || 0x00 || beacon)
async function drawSeed(batchID, nonce, beacon) {
  const zero = new Uint8Array([0]);
  return sha256(concat([utf8.encode(ALGORITHM), zero, utf8.encode(batchID), zero, nonce, zero, utf8.encode(beacon)]));
}

// parsePopulation reads the canonical form: "object_key TAB stratum LF"
// lines, sorted by object_key bytewise, keys unique.
function parsePopulation(bytes) {
  let text;
  try {
    text = strictUTF8.decode(bytes);
  } catch {
    throw new Mismatch("population", "名单文件不是 UTF-8 编码的文本");
  }
  if (bytes.length === 0) throw new Mismatch("population", "名单文件是空的");
  // TAB and LF bytes never occur inside a multi-byte UTF-8 character, so the
  // lines of the text are the lines of the bytes.
  const lines = text.split("\n");
  const entries = [];
  const labels = new Map();
  let start = 0, prev = null;
  for (let i = 0; start < bytes.length; i++) {
    const line = i + 1;
    let end = start, tab = -1;
    while (end < bytes.length && bytes[end] !== LF) {
      if (bytes[end] === TAB) {
        if (tab >= 0) throw new Mismatch(`population line ${line}`, `第 ${line} 行有不止一个制表符`);
        tab = end;
      } else if (bytes[end] === CR) {
        throw new Mismatch(`population line ${line}`, `第 ${line} 行含有回车符（CR），规范格式只用换行符（LF）`);
      }
      end++;
    }
    if (end === bytes.length) throw new Mismatch(`population line ${line}`, `第 ${line} 行没有以换行符结束`);
    if (tab <= start || tab === end - 1) throw new Mismatch(`population line ${line}`, `第 ${line} 行应为“对象标识<TAB>层”`);
    const key = bytes.subarray(start, tab);
    if (prev !== null && compareBytes(prev, key) >= 0) {
      throw new Mismatch(`population line ${line}`, `第 ${line} 行未按对象标识升序排列，或对象标识重复`);
    }
    const labelText = lines[i].slice(lines[i].indexOf("\t") + 1);
    let label = labels.get(labelText);
    if (label === undefined) {
      label = { text: labelText, bytes: utf8.encode(labelText), entries: [] };
      labels.set(labelText, label);
    }
    const entry = { key, hi: 0, lo: 0 };
    label.entries.push(entry);
    entries.push(entry);
    prev = key;
    start = end + 1;
  }
  const strata = [...labels.values()].sort((a, b) => compareBytes(a.bytes, b.bytes));
  return { entries, strata };
}

// HMAC-SHA256 keyed with the seed, for the many short messages of a draw.
// WebCrypto answers each call through a promise, some 20 µs apiece: 2 s for
// 100,000 objects. This is FIPS 180-4's SHA-256 compression, with the
// key's inner and outer blocks hashed once; computeDraw checks it against
// WebCrypto's HMAC-SHA256 on a sample of the objects.
const K = Uint32Array.of(
  0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
  0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
  0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
  0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
  0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
  0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
  0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
  0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2);
const IV = Uint32Array.of(0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19);
const W = new Uint32Array(64);

function compress(H, buf, off) {
  for (let i = 0; i < 16; i++) {
    const j = off + 4 * i;
    W[i] = (buf[j] << 24) | (buf[j + 1] << 16) | (buf[j + 2] << 8) | buf[j + 3];
  }
  for (let i = 16; i < 64; i++) {
    const x = W[i - 15], y = W[i - 2];
    const s0 = ((x >>> 7) | (x << 25)) ^ ((x >>> 18) | (x << 14)) ^ (x >>> 3);
    const s1 = ((y >>> 17) | (y << 15)) ^ ((y >>> 19) | (y << 13)) ^ (y >>> 10);
    W[i] = (W[i - 16] + s0 + W[i - 7] + s1) | 0;
  }
  let a = H[0], b = H[1], c = H[2], d = H[3], e = H[4], f = H[5], g = H[6], h = H[7];
  for (let i = 0; i < 64; i++) {
    const S1 = ((e >>> 6) | (e << 26)) ^ ((e >>> 11) | (e << 21)) ^ ((e >>> 25) | (e << 7));
    const t1 = (h + S1 + ((e & f) ^ (~e & g)) + K[i] + W[i]) | 0;
    const S0 = ((a >>> 2) | (a << 30)) ^ ((a >>> 13) | (a << 19)) ^ ((a >>> 22) | (a << 10));
    const t2 = (S0 + ((a & b) ^ (a & c) ^ (b & c))) | 0;
    h = g; g = f; f = e; e = (d + t1) | 0; d = c; c = b; b = a; a = (t1 + t2) | 0;
  }
  H[0] += a; H[1] += b; H[2] += c; H[3] += d; H[4] += e; H[5] += f; H[6] += g; H[7] += h;
}

// hashFrom continues SHA-256 from state `from` (after `prefix` bytes) over
// msg and the padding, into H.
function hashFrom(from, prefix, msg, H, scratch) {
  H.set(from);
  const blocks = Math.ceil((msg.length + 9) / 64);
  const buf = blocks * 64 <= scratch.length ? scratch : new Uint8Array(blocks * 64);
  buf.fill(0, 0, blocks * 64);
  buf.set(msg);
  buf[msg.length] = 0x80;
  const bits = (prefix + msg.length) * 8, end = blocks * 64;
  const hiBits = Math.floor(bits / 0x100000000), loBits = bits >>> 0;
  for (let i = 0; i < 4; i++) {
    buf[end - 8 + i] = (hiBits >>> (24 - 8 * i)) & 0xff;
    buf[end - 4 + i] = (loBits >>> (24 - 8 * i)) & 0xff;
  }
  for (let i = 0; i < blocks; i++) compress(H, buf, i * 64);
}

function hmacFirst64(seed) {
  const inner = new Uint32Array(8), outer = new Uint32Array(8);
  const block = new Uint8Array(64);
  for (const [state, pad] of [[inner, 0x36], [outer, 0x5c]]) {
    block.fill(pad);
    for (let i = 0; i < seed.length; i++) block[i] = seed[i] ^ pad;
    state.set(IV);
    compress(state, block, 0);
  }
  const H = new Uint32Array(8), digest = new Uint8Array(32), scratch = new Uint8Array(128);
  // v(msg) as its two 32-bit halves.
  return (msg) => {
    hashFrom(inner, 64, msg, H, scratch);
    for (let i = 0; i < 8; i++) {
      digest[4 * i] = H[i] >>> 24; digest[4 * i + 1] = H[i] >>> 16; digest[4 * i + 2] = H[i] >>> 8; digest[4 * i + 3] = H[i];
    }
    hashFrom(outer, 64, digest, H, scratch);
    return [H[0], H[1]];
  };
}

// quotaOf applies a quota rule to a stratum of n entries: a count, or a
// decimal ratio r with n' = ceil(r × n) computed exactly, raised to min;
// never more than n.
function quotaOf(rule, n) {
  let q;
  if (rule && rule.count !== undefined && rule.count !== null) {
    if (!Number.isInteger(rule.count) || rule.count < 0) return null;
    q = Math.min(rule.count, n);
  } else if (rule && typeof rule.ratio === "string" && /^[0-9]+(\.[0-9]+)?$/.test(rule.ratio)) {
    const [whole, frac = ""] = rule.ratio.split(".");
    const num = BigInt(whole + frac);
    const den = 10n ** BigInt(frac.length);
    const up = (num * BigInt(n) + den - 1n) / den;
    q = Number(up < BigInt(n) ? up : BigInt(n));
  } else {
    return null;
  }
  if (rule.min) q = Math.max(q, Math.min(rule.min, n));
  return q;
}

// computeDraw recomputes a draw: the seed, the population's hash, every
// stratum with its population and quota (quotaFor(label, population)), and
// the drawn list in order.
async function computeDraw({ batchID, nonce, beacon, population, quotaFor }) {
  const populationHash = hex(await sha256(population));
  const { entries, strata } = parsePopulation(population);
  const seed = await drawSeed(batchID, nonce, beacon);
  // v = u64(HMAC-SHA256(key = seed, message = object_key)), as two 32-bit halves.
  const mac = hmacFirst64(seed);
  for (const e of entries) [e.hi, e.lo] = mac(e.key);
  // The same through WebCrypto for the first objects and every 997th.
  const key = await crypto.subtle.importKey("raw", seed, { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
  const sample = entries.filter((_, i) => i < 32 || i % 997 === 0);
  const macs = await Promise.all(sample.map((e) => crypto.subtle.sign("HMAC", key, e.key)));
  sample.forEach((e, i) => {
    const v = new DataView(macs[i]);
    if (v.getUint32(0) !== e.hi || v.getUint32(4) !== e.lo) throw new Error("本页的 HMAC-SHA256 计算与浏览器 WebCrypto 的结果不符，无法验证");
  });
  const byV = (a, b) => a.hi - b.hi || a.lo - b.lo || compareBytes(a.key, b.key);
  const decoder = new TextDecoder();
  const outStrata = [], drawn = [];
  strata.forEach((s, i) => {
    const quota = quotaFor(s.text, s.entries.length, i);
    outStrata.push({ label: s.text, population: s.entries.length, quota });
    if (quota === null || quota < 0) return;
    s.entries.sort(byV);
    for (const e of s.entries.slice(0, quota)) drawn.push({ object_key: decoder.decode(e.key), stratum: s.text });
  });
  return { seed: hex(seed), population_hash: populationHash, strata: outStrata, drawn, objects: entries.length };
}

// verifyProof checks a published proof against a population file and
// returns {objects, strata, drawn} or throws the first Mismatch.
async function verifyProof(proof, population) {
  if (proof === null || typeof proof !== "object") throw new Mismatch("proof", "抽取证明不是 JSON 对象");
  if (proof.algorithm !== ALGORITHM) throw new Mismatch("algorithm", `算法应为 ${ALGORITHM}`);
  if (typeof proof.batch_id !== "string" || proof.batch_id === "") throw new Mismatch("batch_id", "缺少批次号");
  const nonce = fromHex(proof.nonce);
  if (nonce === null || nonce.length !== 32) throw new Mismatch("nonce", "保密随机数应为 64 位十六进制数");
  if (hex(await sha256(nonce)) !== proof.commitment) throw new Mismatch("nonce", "保密随机数的 SHA-256 摘要与创建批次时公布的承诺值不符");
  if (typeof proof.beacon !== "string") throw new Mismatch("beacon", "缺少公开随机值");
  if (hex(await sha256(population)) !== proof.population_hash) {
    throw new Mismatch("population_hash", "名单文件的 SHA-256 摘要与证明中的名单摘要不符：名单文件或证明被改动过");
  }
  const strata = Array.isArray(proof.strata) ? proof.strata : [];
  const got = await computeDraw({
    batchID: proof.batch_id, nonce, beacon: proof.beacon, population,
    quotaFor: (label, n, i) => {
      const s = strata[i];
      if (!s || s.label !== label) return null;
      return s.rule ? quotaOf(s.rule, n) : Number.isInteger(s.quota) && s.quota >= 0 && s.quota <= n ? s.quota : null;
    },
  });
  for (let i = 0; i < Math.max(got.strata.length, strata.length); i++) {
    const g = got.strata[i], p = strata[i];
    if (!g) throw new Mismatch(`strata[${i}]`, `证明多出一层“${p.label}”，名单中没有该层的对象`);
    if (!p) throw new Mismatch(`strata[${i}]`, `名单中的层“${g.label}”不在证明中`);
    if (p.label !== g.label) throw new Mismatch(`strata[${i}].label`, `第 ${i + 1} 层应为“${g.label}”，证明中为“${p.label}”`);
    if (p.population !== g.population) throw new Mismatch(`strata[${i}].population`, `层“${g.label}”有 ${g.population} 个对象，证明中为 ${p.population}`);
    if (g.quota === null || p.quota !== g.quota) throw new Mismatch(`strata[${i}].quota`, `层“${g.label}”应抽取 ${g.quota ?? "（无法计算）"} 个，证明中为 ${p.quota}`);
  }
  if (proof.seed !== undefined && proof.seed !== got.seed) throw new Mismatch("seed", "种子与由批次号、保密随机数和公开随机值算出的不符");
  const drawn = Array.isArray(proof.drawn) ? proof.drawn : [];
  for (let i = 0; i < Math.min(drawn.length, got.drawn.length); i++) {
    if (drawn[i].object_key !== got.drawn[i].object_key) {
      throw new Mismatch(`drawn[${i}].object_key`, `第 ${i + 1} 个抽中对象应为 ${got.drawn[i].object_key}，证明中为 ${drawn[i].object_key}`);
    }
    if (drawn[i].stratum !== got.drawn[i].stratum) {
      throw new Mismatch(`drawn[${i}].stratum`, `第 ${i + 1} 个抽中对象的层应为“${got.drawn[i].stratum}”`);
    }
  }
  if (drawn.length !== got.drawn.length) throw new Mismatch("drawn", `应抽中 ${got.drawn.length} 个对象，证明中为 ${drawn.length} 个`);
  return { objects: got.objects, strata: got.strata.length, drawn: got.drawn.length, seed: got.seed };
}

// verify runs verifyProof on the proof's text and the population's bytes
// and reports the outcome as a plain object, timed.
async function verify(proofText, population) {
  const started = performance.now();
  try {
    let proof;
    try {
      proof = JSON.parse(proofText);
    } catch {
      throw new Mismatch("proof", "抽取证明不是有效的 JSON");
    }
    const r = await verifyProof(proof, population);
    return { ok: true, ...r, batch: proof.batch_id, ms: performance.now() - started };
  } catch (e) {
    if (!(e instanceof Mismatch)) throw e;
    return { ok: false, field: e.field, message: e.message, ms: performance.now() - started };
  }
}

window.spotcheckVerifier = { computeDraw, verifyProof, verify, quotaOf, fromHex };

// The page.
const form = document.getElementById("verify-form");
const out = document.getElementById("verify-result");

function show(r) {
  window.spotcheckLast = r;
  out.replaceChildren();
  const verdict = document.createElement("p");
  verdict.className = "verdict " + (r.ok ? "ok" : "bad");
  verdict.id = "verdict";
  verdict.textContent = r.ok ? "一致" : "不一致";
  out.append(verdict);
  const p = document.createElement("p");
  if (r.ok) {
    p.textContent = `批次 ${r.batch}：按公开算法重新计算，检查对象 ${r.objects} 个、${r.strata} 层，抽中 ${r.drawn} 个，与公布的抽中名单完全一致。用时 ${(r.ms / 1000).toFixed(2)} 秒。`;
  } else {
    p.textContent = `第一处不一致：${r.field}。${r.message}`;
    p.dataset.field = r.field;
    p.id = "mismatch";
  }
  out.append(p);
}

async function fetchBytes(url) {
  const resp = await fetch(url, { credentials: "omit" });
  if (!resp.ok) throw new Error(resp.status === 404 ? "该批次尚未公布抽取证明或名单，或批次号有误" : `下载失败（${resp.status}）`);
  return new Uint8Array(await resp.arrayBuffer());
}

if (form) {
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const button = document.getElementById("verify-button");
    button.disabled = true;
    out.textContent = "正在计算……";
    try {
      let proofText, population;
      if (form.elements.source.value === "files") {
        const pf = document.getElementById("proof-file").files[0];
        const nf = document.getElementById("population-file").files[0];
        if (!pf || !nf) throw new Error("请选择抽取证明文件和检查对象总体名单文件");
        proofText = await pf.text();
        population = new Uint8Array(await nf.arrayBuffer());
      } else {
        const id = document.getElementById("batch-id").value.trim();
        if (!id) throw new Error("请填写批次号");
        const base = "/public/batches/" + encodeURIComponent(id);
        proofText = new TextDecoder().decode(await fetchBytes(base + "/draw-proof"));
        population = await fetchBytes(base + "/population.tsv");
      }
      show(await verify(proofText, population));
    } catch (e) {
      out.replaceChildren();
      const p = document.createElement("p");
      p.className = "notice";
      p.id = "verify-error";
      p.textContent = e.message;
      out.append(p);
    } finally {
      button.disabled = false;
    }
  });
}
