// Reads a Parquet file with two independent readers, DuckDB (@duckdb/node-api) and Apache
// Arrow's Rust reader (parquet-wasm, decoded with apache-arrow), and checks both against the
// CSV of the same rows: column names and order, types, row count and order, values (Float32 as
// the same float), nulls where the CSV field is empty, each row group's statistics (DuckDB's
// parquet_metadata: null count, min and max), the row groups' sizes, and for GeoParquet the
// WKB points, the bbox columns and the `geo` metadata. Prints "ok ..." and exits 0, or prints
// the differences and exits 1.
//
//   node check_parquet.mjs READERS_DIR FILE.parquet EXPECTED.csv SPEC.json
//
// SPEC: {"types": {"column": ["DUCKDB TYPE", "ArrowType"], ...}, "row_groups": [rows, ...]
// (optional), "geometry": true|false, "bbox": true|false, "kv": ["key", ...] (present keys),
// "kv_json": {"key": value} (keys whose value, parsed as JSON, is `value`)}.
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';

const [readers, file, csvFile, specFile] = process.argv.slice(2);
const require = createRequire(path.join(path.resolve(readers), 'package.json'));
const { DuckDBInstance } = require('@duckdb/node-api');
const { readParquet, ParquetFile } = require('parquet-wasm/node');
const { tableFromIPC } = require('apache-arrow');

const spec = JSON.parse(fs.readFileSync(specFile, 'utf8'));
const problems = [];
const fail = (text) => { if (problems.length < 40) problems.push(text); };

function readCsv(text) {
  const lines = text.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  const header = splitHeader(lines[0]);
  return { header, rows: lines.slice(1).map((l) => l.split(',')) };
}
function splitHeader(line) {
  const out = [];
  let field = '', quoted = false;
  for (let i = 0; i < line.length; ++i) {
    const ch = line[i];
    if (quoted) {
      if (ch === '"' && line[i + 1] === '"') { field += '"'; ++i; } else if (ch === '"') quoted = false; else field += ch;
    } else if (ch === '"') quoted = true; else if (ch === ',') { out.push(field); field = ''; } else field += ch;
  }
  out.push(field);
  return out;
}

// The value a CSV field stands for, in the column's type (null for an empty field).
function expected(text, arrowType) {
  if (text === '') return null;
  if (arrowType.startsWith('Int') || arrowType.startsWith('Uint')) return BigInt(text);
  const v = text === 'nan' ? NaN : text === 'inf' ? Infinity : text === '-inf' ? -Infinity : Number(text);
  return arrowType === 'Float32' ? Math.fround(v) : v;
}
function same(want, got) {
  if (want === null || got === null || got === undefined) return want === null && (got === null || got === undefined);
  if (typeof want === 'bigint') return typeof got === 'bigint' || Number.isInteger(got) ? BigInt(got) === want : false;
  return Object.is(want, got) || (want === 0 && got === 0);
}
const show = (v) => (typeof v === 'bigint' ? `${v}n` : String(v));

async function readDuck() {
  const db = await DuckDBInstance.create(':memory:');
  const con = await db.connect();
  const q = async (sql) => con.runAndReadAll(sql);
  const src = `read_parquet('${file.replace(/'/g, "''")}')`;
  const described = await q(`SELECT * FROM ${src} LIMIT 0`);
  const names = described.columnNames();
  const types = described.columnTypes().map((t) => t.toString());
  const select = names.map((n) => (n === 'geometry' && spec.geometry ? 'geometry::VARCHAR AS geometry' : `"${n}"`));
  const rows = (await q(`SELECT ${select.join(', ')} FROM ${src}`)).getRowsJS();
  const meta = (await q(`SELECT row_group_id, row_group_num_rows, path_in_schema, stats_null_count, stats_min_value,
      stats_max_value FROM parquet_metadata('${file.replace(/'/g, "''")}') ORDER BY row_group_id, column_id`)).getRowsJS();
  const kv = {};
  for (const [k, v] of (await q(`SELECT decode(key), decode(value) FROM parquet_kv_metadata('${file.replace(/'/g, "''")}')`)).getRowsJS()) kv[k] = v;
  return { names, types, rows, meta, kv };
}

async function readArrow() {
  const bytes = new Uint8Array(fs.readFileSync(file));
  const table = tableFromIPC(readParquet(bytes).intoIPCStream());
  const names = table.schema.fields.map((f) => f.name);
  const types = table.schema.fields.map((f) => String(f.type));
  const columns = names.map((n) => table.getChild(n));
  const pf = await ParquetFile.fromFile(new Blob([bytes]));
  const groups = pf.metadata().rowGroups().map((g) => g.numRows());
  const kv = Object.fromEntries(pf.metadata().fileMetadata().keyValueMetadata());
  return { names, types, columns, rows: table.numRows, groups, kv };
}

function checkSchema(reader, names, types, csvHeader) {
  const want = [...csvHeader, ...(spec.geometry ? ['geometry'] : []), ...(spec.bbox ? ['bbox'] : [])];
  if (names.join(',') !== want.join(',')) fail(`${reader}: columns ${names.join(',')}, expected ${want.join(',')}`);
  names.forEach((n, i) => {
    const t = spec.types[n];
    const wantType = t ? t[reader === 'duckdb' ? 0 : 1] : undefined;
    if (wantType !== undefined && types[i] !== wantType && !(n === 'geometry' && types[i].startsWith(wantType)))
      fail(`${reader}: column ${n} has type ${types[i]}, expected ${wantType}`);
  });
}

function checkValues(reader, csv, get) {
  csv.rows.forEach((row, r) => {
    csv.header.forEach((n, c) => {
      const want = expected(row[c], spec.types[n][1]);
      const got = get(r, c);
      if (!same(want, got)) fail(`${reader}: row ${r} column ${n}: ${show(got)}, expected ${show(want)} (CSV "${row[c]}")`);
    });
  });
}

function checkStatistics(duck, csv) {
  // The data's own figures per row group, against the footer's statistics as DuckDB reads them.
  let first = 0;
  const groups = [];
  for (const m of duck.meta) {
    const [group, rows, column, nulls, min, max] = m;
    const g = Number(group);
    if (groups.length <= g) { groups.push(Number(rows)); if (g > 0) first += groups[g - 1]; }
    const c = csv.header.indexOf(column);
    if (c < 0) continue;
    const type = spec.types[column][1];
    let n = 0, lo = null, hi = null;
    for (let r = first; r < first + Number(rows); ++r) {
      const v = expected(csv.rows[r][c], type);
      if (v === null) { ++n; continue; }
      if (typeof v === 'number' && Number.isNaN(v)) continue;
      if (lo === null || v < lo) lo = v;
      if (hi === null || v > hi) hi = v;
    }
    if (Number(nulls) !== n) fail(`statistics: row group ${g} column ${column}: null_count ${nulls}, expected ${n}`);
    const gotLo = min === null ? null : expected(String(min).replace(/^(-?)0\.0$/, '$10'), type);
    const gotHi = max === null ? null : expected(String(max).replace(/^(-?)0\.0$/, '$10'), type);
    if (!same(lo, gotLo) || !same(hi, gotHi))
      fail(`statistics: row group ${g} column ${column}: min ${min} max ${max}, expected ${show(lo)} ${show(hi)}`);
  }
  return groups;
}

function checkGeometry(duck, arrow, csv) {
  const xi = csv.header.indexOf('x'), yi = csv.header.indexOf('y');
  const g = arrow.names.indexOf('geometry');
  const dg = duck.names.indexOf('geometry');
  if (!duck.types[dg]?.startsWith('GEOMETRY')) fail(`duckdb: geometry has type ${duck.types[dg]}, not GEOMETRY (geo metadata not recognised)`);
  let bbox = [Infinity, Infinity, -Infinity, -Infinity];
  csv.rows.forEach((row, r) => {
    const x = Number(row[xi]), y = Number(row[yi]);
    bbox = [Math.min(bbox[0], x), Math.min(bbox[1], y), Math.max(bbox[2], x), Math.max(bbox[3], y)];
    const wkb = arrow.columns[g].get(r);
    const view = new DataView(wkb.buffer, wkb.byteOffset, wkb.byteLength);
    if (wkb.length !== 21 || wkb[0] !== 1 || view.getUint32(1, true) !== 1 || view.getFloat64(5, true) !== x ||
        view.getFloat64(13, true) !== y) fail(`arrow: row ${r}: geometry is not the WKB point (${x} ${y})`);
    const m = /^POINT \(([^ ]+) ([^ ]+)\)$/.exec(duck.rows[r][dg]);
    if (!m || Number(m[1]) !== x || Number(m[2]) !== y) fail(`duckdb: row ${r}: geometry ${duck.rows[r][dg]}, expected POINT (${x} ${y})`);
    if (spec.bbox) {
      const b = arrow.columns[arrow.names.indexOf('bbox')].get(r).toJSON();
      if (b.xmin !== x || b.xmax !== x || b.ymin !== y || b.ymax !== y) fail(`arrow: row ${r}: bbox ${JSON.stringify(b)}`);
    }
  });
  for (const [reader, kv] of [['duckdb', duck.kv], ['arrow', arrow.kv]]) {
    const geo = JSON.parse(kv.geo ?? 'null');
    const col = geo?.columns?.geometry;
    if (geo?.version !== '1.1.0' || geo.primary_column !== 'geometry' || col?.encoding !== 'WKB' ||
        JSON.stringify(col.geometry_types) !== '["Point"]' || typeof col.crs !== 'object' || !col.crs.type)
      fail(`${reader}: geo metadata ${kv.geo?.slice(0, 300)}`);
    if (csv.rows.length > 0 && JSON.stringify(col?.bbox) !== JSON.stringify(bbox))
      fail(`${reader}: geo bbox ${JSON.stringify(col?.bbox)}, expected ${JSON.stringify(bbox)}`);
    if (spec.bbox && JSON.stringify(col?.covering?.bbox?.xmin) !== '["bbox","xmin"]') fail(`${reader}: geo covering ${JSON.stringify(col?.covering)}`);
  }
}

const csv = readCsv(fs.readFileSync(csvFile, 'utf8'));
const duck = await readDuck();
const arrow = await readArrow();
checkSchema('duckdb', duck.names, duck.types, csv.header);
checkSchema('arrow', arrow.names, arrow.types, csv.header);
if (duck.rows.length !== csv.rows.length) fail(`duckdb: ${duck.rows.length} rows, expected ${csv.rows.length}`);
if (arrow.rows !== csv.rows.length) fail(`arrow: ${arrow.rows} rows, expected ${csv.rows.length}`);
if (problems.length === 0) {
  checkValues('duckdb', csv, (r, c) => duck.rows[r][duck.names.indexOf(csv.header[c])]);
  const arrowColumns = csv.header.map((n) => arrow.columns[arrow.names.indexOf(n)]);
  checkValues('arrow', csv, (r, c) => arrowColumns[c].get(r));
  const groups = checkStatistics(duck, csv);
  if (groups.join(',') !== arrow.groups.join(',')) fail(`row groups: duckdb ${groups}, arrow ${arrow.groups}`);
  if (spec.row_groups && groups.join(',') !== spec.row_groups.join(','))
    fail(`row groups of ${groups.join(',')} rows, expected ${spec.row_groups.join(',')}`);
  for (const key of spec.kv ?? []) {
    if (!(key in duck.kv) || !(key in arrow.kv)) fail(`key-value metadata: no "${key}"`);
  }
  // Key-value metadata whose value is JSON: what each reader gives, parsed, equals the spec's.
  for (const [key, want] of Object.entries(spec.kv_json ?? {})) {
    for (const [reader, kv] of [['duckdb', duck.kv], ['arrow', arrow.kv]]) {
      let got;
      try { got = JSON.parse(kv[key]); } catch { got = kv[key]; }
      if (JSON.stringify(got) !== JSON.stringify(want)) fail(`${reader}: key-value "${key}" is ${kv[key]}, expected ${JSON.stringify(want)}`);
    }
  }
  if (spec.geometry) checkGeometry(duck, arrow, csv);
}
if (problems.length > 0) {
  console.log(problems.join('\n'));
  process.exit(1);
}
console.log(`ok: ${csv.rows.length} rows, ${csv.header.length} columns, ${arrow.groups.length} row groups, read alike by DuckDB and Arrow (parquet-wasm)`);
