// A client in another language, built only from proto/: translates a file and
// prints a JSON report for tests/test_interop.py to check.
// Usage: node node_client.js HOST:PORT PROTO_DIR ARTICLE_FILE
const grpc = require('@grpc/grpc-js');
const loader = require('@grpc/proto-loader');
const fs = require('fs');

const [address, protoDir, articlePath] = process.argv.slice(2);
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
  console.log(JSON.stringify(report));
  process.exit(0);
})();
