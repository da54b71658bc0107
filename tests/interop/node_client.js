// A client in another language, built only from proto/: translates a file and
// prints a JSON report for tests/test_interop.py to check.
// Usage: node node_client.js HOST:PORT PROTO_DIR ARTICLE_FILE [HTTP_URL]
// With HTTP_URL it also calls the JSON API (Connect protocol) with fetch, at the paths proto/ defines.
const grpc = require('@grpc/grpc-js');
const loader = require('@grpc/proto-loader');
const fs = require('fs');

const [address, protoDir, articlePath, httpUrl] = process.argv.slice(2);
const definition = loader.loadSync('tarjama/v1/tarjama.proto', {
  includeDirs: [protoDir], keepCase: true, longs: Number, enums: String, defaults: true,
});
const v1 = grpc.loadPackageDefinition(definition).tarjama.v1;
const client = new v1.TarjamaService(address, grpc.credentials.createInsecure());
const text = fs.readFileSync(articlePath, 'utf8');
const call = (method, request, metadata = new grpc.Metadata()) => new Promise((resolve) => {
  client[method](request, metadata, { deadline: Date.now() + 120000 }, (error, response) => resolve({ error, response }));
});
// What an editor reads of a translation: texts, segments and their scores (not usage, ids or timings).
const readable = (response) => JSON.stringify(response.translations.map((t) => [t.text, t.segments.map(
  (s) => [s.source_start, s.source_end, s.translation, s.log_probability, s.confidence])]));

// The JSON API: each method at its path from proto/ ("/tarjama.v1.TarjamaService/Translate").
const paths = Object.fromEntries(Object.entries(definition['tarjama.v1.TarjamaService'])
  .map(([name, method]) => [name, new URL(method.path.slice(1), httpUrl).href]));
const post = async (method, body, contentType = 'application/json') => {
  const response = await fetch(paths[method], {
    method: 'POST', headers: { 'Content-Type': contentType, 'x-request-id': 'node-interop' }, body,
  });
  return { status: response.status, requestId: response.headers.get('x-request-id'), body: response };
};

async function jsonApi(text) {
  const report = {};
  const translated = await post('Translate', JSON.stringify({ texts: [text] }));
  const translation = (await translated.body.json()).translations[0];
  const codePoints = Array.from(text);
  report.status = translated.status;
  report.request_id = translated.requestId;
  report.segments = translation.segments.length;
  report.offsets_match = translation.segments.every(
    (s) => codePoints.slice(s.sourceStart, s.sourceEnd).join('') === s.source);
  report.zero_printed = translation.segments[0].sourceStart === 0;
  // Trust fields (scores, flags) and the request id in the body, under their JSON names.
  report.scored = translation.segments.every((s) => typeof s.confidence === 'number' && Array.isArray(s.flags));
  // A Connect server stream: the request and each message are a flags byte, a 4-byte length, JSON.
  const payload = Buffer.from(JSON.stringify({ texts: [text] }));
  const framed = Buffer.concat([Buffer.from([0, 0, 0, 0, 0]), payload]);
  framed.writeUInt32BE(payload.length, 1);
  const streamed = await post('StreamTranslate', framed, 'application/connect+json');
  const data = Buffer.from(await streamed.body.arrayBuffer());
  report.stream = [];
  for (let at = 0; at < data.length;) {
    const flags = data[at];
    const length = data.readUInt32BE(at + 1);
    const message = JSON.parse(data.subarray(at + 5, at + 5 + length).toString('utf8'));
    at += 5 + length;
    if (flags & 2) report.stream_end = message.error ? message.error.code : 'ok';
    else report.stream.push([message.segmentIndex, message.totalSegments]);
  }
  const empty = await post('Translate', JSON.stringify({ texts: [] }));
  report.empty = [empty.status, (await empty.body.json()).code];
  const unknown = await post('Translate', JSON.stringify({ texts: ['حلب.'], colour: 'red' }));
  report.unknown_field = [unknown.status, (await unknown.body.json()).code];
  return report;
}

(async () => {
  const report = {};
  const sent = new grpc.Metadata();
  sent.set('x-request-id', 'interop-check-1');
  let started = process.hrtime.bigint();
  const translated = await call('Translate', { texts: [text] }, sent);
  report.first_ms = Number(process.hrtime.bigint() - started) / 1e6;
  const translation = translated.response.translations[0];
  report.request_id_in_body = translated.response.request_id === 'interop-check-1';
  // proto3 optional: the field is absent (null) unless the segment went through the model.
  report.scores_finite = translation.segments.every(
    (s) => Number.isFinite(s.log_probability) && s.log_probability <= 0 && s.confidence > 0 && s.confidence <= 1);
  report.timings = translated.response.timings;
  started = process.hrtime.bigint();
  const again = await call('Translate', { texts: [text] });
  report.second_ms = Number(process.hrtime.bigint() - started) / 1e6;
  report.same_again = readable(again.response) === readable(translated.response);
  report.cached_again = again.response.translations[0].segments.every((s) => s.flags.includes('SEGMENT_FLAG_CACHED'));
  const codePoints = Array.from(text); // offsets are code points; JS strings are UTF-16
  report.segments = translation.segments.length;
  report.offsets_match = translation.segments.every(
    (s) => codePoints.slice(s.source_start, s.source_end).join('') === s.source);
  report.text_rebuilds = translation.text === translation.segments.map(
    (s) => s.separator + s.translation + s.trailing).join('');
  const english = '  (AFP) Photo: Reuters\r\n\r\n\r\nYahoo!Inc reported profits.\u2028\t';
  const passed = await call('Translate', { texts: [english] });
  report.passthrough_exact = passed.response.translations[0].text === english;
  report.passthrough_unscored = passed.response.translations[0].segments.every(
    (s) => s.log_probability == null && s.flags.includes('SEGMENT_FLAG_PASSED_THROUGH'));
  report.detected_language = translation.detected_language;
  const empty = await call('Translate', { texts: [] });
  report.empty_status = grpc.status[empty.error.code];
  report.empty_details = empty.error.details;
  const summary = await call('Summarize', { text, summary_language: 'ar', max_summary_tokens: 16 });
  report.summary_language = summary.response.summary_language;
  const models = await call('ListModels', {});
  report.tasks = models.response.models.map((m) => m.task);
  report.server = models.response.server;
  const html = '<h1>حلب تحت سيطرة <b>النظام</b></h1>\n<p lang="en">Reporting by <a href="/r">Reuters</a></p>'
    + '<img src="x.png" alt="صورة">';
  const page = await call('Translate', { texts: [html], mime_type: 'text/html', glossary: { 'حلب': 'Aleppo' } });
  const tags = (doc) => (doc.match(/<[^>]*>/g) || []).filter((t) => !t.startsWith('<img'));
  const htmlOut = page.response.translations[0].text;
  report.html_tags_kept = JSON.stringify(tags(htmlOut)) === JSON.stringify(tags(html));
  report.html_english_kept = htmlOut.includes('<p lang="en">Reporting by <a href="/r">Reuters</a></p>');
  report.html_segments = page.response.translations[0].segments.map((s) => s.detected_language);
  report.stream = await new Promise((resolve) => {
    const events = [];
    const stream = client.StreamTranslate({ texts: [text] });
    stream.on('data', (e) => events.push([e.segment_index, e.total_segments]));
    stream.on('end', () => resolve(events));
    stream.on('error', (e) => resolve(String(e)));
  });
  if (httpUrl) report.json = await jsonApi(text);
  console.log(JSON.stringify(report));
  process.exit(0);
})();
