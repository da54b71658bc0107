// The editor's page: calls the server's JSON API (Connect protocol) on its own origin.
// No framework, no build step, nothing fetched from anywhere else.
'use strict';

const SERVICE = '/tarjama.v1.TarjamaService/';
const TOKEN_KEY = 'tarjama-token';
// Segments whose confidence is below this are marked for checking. The proto's advice holds: a
// threshold is best chosen on a sample of one's own copy with the model one runs.
const LOW_CONFIDENCE = 0.5;
const LINE_BREAK = /\r\n|[\n\r\u000b\u000c\u0085\u2028\u2029]/;
// Pasted text that holds a closing tag, a line-break or image tag, or a doctype is HTML.
const LOOKS_LIKE_HTML = /<\/[a-z][a-z0-9]*\s*>|<(?:br|hr|img)\b[^<>]*>|<!doctype\s+html/i;
// Flags that ask an editor to look (passed through and cached ones do not).
const WORTH_A_LOOK = /REPETITION_RETRIED|CUT|UNUSUAL_LENGTH|SOURCE_COPIED|GLOSSARY_MISSING/;

const $ = (id) => document.getElementById(id);
const state = {
  segments: [], // the current translation's segments, in order
  sourceText: '', // the text they point into
  documentText: '', // the whole translated document, once known (HTML mode, or rebuilt)
  html: false,
  sourceLanguage: '', // what the translation was asked with ('' detects)
  active: -1,
  controller: null, // aborts the translation in flight (Stop)
  summaryController: null, // aborts the summary in flight (Stop)
  // Each call's number: an answer or event for an older one is dropped, never shown over a newer one.
  generation: 0,
  summaryGeneration: 0,
  models: [],
  server: null, // ServerInfo from ListModels, when the server sends it: the limits to respect
  translator: null, // the translation model's ModelInfo: its languages
  summarizer: null, // the summarization model's, when the server has one
  timings: null, // the call's timings, when the server sends them
  htmlChosen: null, // the editor's own setting of the HTML switch since the box was empty (null: detect)
  // Rendering, one segment at a time (linear in segments): each side's elements by index, where the
  // source is rendered up to, and where code-point offsets were last converted.
  elements: { source: [], target: [] },
  sourceAt: 0,
  cursor: { codePoint: 0, index: 0 },
};

class ApiError extends Error {
  constructor(status, code, message, retryAfter) {
    super(message);
    this.status = status;
    this.code = code;
    this.retryAfter = retryAfter;
  }
}

// ---- the API ----

function headers(contentType) {
  const sent = { 'Content-Type': contentType, 'Connect-Protocol-Version': '1' };
  const token = sessionStorage.getItem(TOKEN_KEY);
  if (token) sent.Authorization = `Bearer ${token}`;
  return sent;
}

function retryDelay(error, response) {
  const header = response && response.headers.get('Retry-After');
  if (header && /^\d+$/.test(header)) return Number(header);
  for (const detail of (error && error.details) || []) {
    const delay = detail.debug && (detail.debug.retryDelay || detail.debug.retry_delay);
    if (delay) return Math.ceil(parseFloat(delay));
  }
  return null;
}

async function call(method, request, signal) {
  const response = await fetch(SERVICE + method, {
    method: 'POST', headers: headers('application/json'), body: JSON.stringify(request), signal,
  });
  if (!response.ok) throw await errorOf(response);
  return response.json().catch(() => ({}));
}

// A refused call's Connect error body (code, message, details) as an ApiError.
async function errorOf(response) {
  const body = await response.json().catch(() => ({}));
  return new ApiError(response.status, body.code || 'unknown', body.message || response.statusText,
    retryDelay(body, response));
}

const ERROR_STATUS = {
  canceled: 499, invalid_argument: 400, deadline_exceeded: 504, resource_exhausted: 429,
  failed_precondition: 400, unimplemented: 501, internal: 500, unavailable: 503, unauthenticated: 401,
};

// A server stream (application/connect+json): each message is a flags byte, a 4-byte length, JSON.
async function stream(method, request, onEvent, signal) {
  const payload = new TextEncoder().encode(JSON.stringify(request));
  const framed = new Uint8Array(5 + payload.length);
  new DataView(framed.buffer).setUint32(1, payload.length);
  framed.set(payload, 5);
  const response = await fetch(SERVICE + method, {
    method: 'POST', headers: headers('application/connect+json'), body: framed, signal,
  });
  if (!response.ok) throw await errorOf(response);
  const reader = response.body.getReader();
  let buffer = new Uint8Array(0);
  for (;;) {
    const { done, value } = await reader.read();
    if (value) {
      const joined = new Uint8Array(buffer.length + value.length);
      joined.set(buffer);
      joined.set(value, buffer.length);
      buffer = joined;
    }
    while (buffer.length >= 5) {
      const view = new DataView(buffer.buffer, buffer.byteOffset);
      const flags = view.getUint8(0);
      const length = view.getUint32(1);
      if (buffer.length < 5 + length) break;
      const message = JSON.parse(new TextDecoder().decode(buffer.subarray(5, 5 + length)));
      buffer = buffer.subarray(5 + length);
      if (flags & 2) {
        if (message.error) {
          const error = message.error;
          throw new ApiError(ERROR_STATUS[error.code] || 500, error.code, error.message,
            retryDelay(error, response));
        }
        return;
      }
      onEvent(message);
    }
    if (done) throw new ApiError(0, 'unavailable', 'the connection closed before the translation ended');
  }
}

// ---- messages ----

function describe(error) {
  if (error.name === 'AbortError') return null;
  if (!(error instanceof ApiError)) {
    return `Cannot reach the server (${error.message}). Check that it is running, then try again.`;
  }
  switch (error.status) {
    case 400: return `The server could not take this request: ${error.message}` +
      (/source_language/.test(error.message) ? ' Choose the article\'s language under “Source language”, then translate again.' : '');
    case 401: return 'This server needs an API key (or its access token): enter it above.';
    case 403: return `This key may not do that: ${error.message}`;
    case 413: return error.message;
    case 429: if (!error.retryAfter && /characters_per_(day|month)/.test(error.message)) {
      return `This key's quota is used up: ${error.message}`;
    }
    return `The server is busy: ${error.message}` +
      (error.retryAfter ? ` Try again in ${error.retryAfter} s.` : ' Try again shortly.');
    case 503: return `The server is not ready: ${error.message} Try again in a moment.`;
    case 504: return `The translation took too long: ${error.message}`;
    default: return `The server failed (${error.code}): ${error.message}`;
  }
}

function showError(error) {
  const text = typeof error === 'string' ? error : describe(error);
  const box = $('error');
  box.textContent = text || '';
  box.hidden = !text;
  if (error instanceof ApiError && error.status === 401) askForToken();
}

function setProgress(text, done, total) {
  $('progress').textContent = text;
  const bar = $('progress-bar');
  bar.hidden = total === undefined;
  if (total !== undefined) {
    bar.max = Math.max(total, 1);
    bar.value = done;
  }
}

// ---- models, notices, token ----

function askForToken() {
  const form = $('token-form');
  form.hidden = false;
  $('token').focus();
}

async function loadModels() {
  try {
    const listed = await call('ListModels', {});
    state.models = listed.models || [];
    state.server = listed.server || null;
  } catch (error) {
    $('models').textContent = 'Not connected.';
    showError(error);
    return;
  }
  if (!state.models.length) {
    $('models').textContent = 'The models are loading…';
    setTimeout(loadModels, 3000);
    return;
  }
  state.translator = state.models.find((m) => m.task === 'TASK_TRANSLATION') || null;
  state.summarizer = state.models.find((m) => m.task === 'TASK_SUMMARIZATION') || null;
  offerLanguages();
  offerStyles();
  $('models').textContent = state.models
    .map((m) => `${m.task === 'TASK_SUMMARIZATION' ? 'Summaries' : 'Translation'}: ${m.id} (${m.engine})`)
    .join(' · ');
  const notices = $('notices');
  notices.replaceChildren();
  for (const model of state.models) {
    if (!model.notice && !model.untrained) continue;
    const notice = document.createElement('p');
    notice.className = model.untrained ? 'notice untrained' : 'notice licence';
    notice.dataset.testid = model.untrained ? 'untrained-notice' : 'licence-notice';
    notice.textContent = `${model.id}: ${model.notice || 'untrained test model: its output is noise.'}` +
      (model.untrained ? '' : ` (licence: ${model.license})`);
    notices.append(notice);
  }
  if (!$('token-form').hidden) $('token-form').hidden = true;
  showError('');
  showUsage();
}

// The key's use against its limits (GetUsage); hidden without a key, or for --auth-token (no usage).
async function showUsage() {
  const line = $('usage');
  if (!sessionStorage.getItem(TOKEN_KEY)) {
    line.hidden = true;
    return;
  }
  let usage;
  try {
    usage = await call('GetUsage', {});
  } catch (error) {
    line.hidden = true;
    return;
  }
  if (!usage.keyName || usage.keyName === 'auth-token') {  // the operator's token: nothing is counted
    line.hidden = true;
    return;
  }
  const count = (value) => Number(value || 0).toLocaleString('en');
  const of = (used, limit) => Number(limit || 0) ? `${count(used)} of ${count(limit)}` : count(used);
  line.textContent = `Key “${usage.keyName}”: ${of(usage.charactersToday, usage.charactersPerDay)} characters ` +
    `and ${count(usage.requestsToday)} requests today; ${of(usage.charactersThisMonth, usage.charactersPerMonth)} ` +
    'characters this month.';
  line.hidden = false;
}

// The languages and summary styles the server offers, from ListModels (no copy of them here).
function languageName(code) {
  try {
    return new Intl.DisplayNames(['en'], { type: 'language' }).of(code) || code;
  } catch (_) {
    return code;
  }
}

function sourceLanguages() {
  return (state.translator && state.translator.sourceLanguages) || [];
}

function targetLanguage() {
  return (state.server && state.server.defaultTargetLanguage) ||
    (state.translator && (state.translator.targetLanguages || [])[0]) || '';
}

function offerLanguages() {
  const select = $('source-language');
  const chosen = select.value;
  const options = [new Option('Detect (each paragraph)', '')];
  for (const code of sourceLanguages()) options.push(new Option(`${languageName(code)} (${code})`, code));
  select.replaceChildren(...options);
  select.value = sourceLanguages().includes(chosen) ? chosen : '';
  const target = targetLanguage();
  $('target-view').lang = target || 'en';
}

// ServerInfo names the styles "headline", "short"...; the request's enum is SUMMARY_STYLE_ and the name.
function styleValue(name) {
  return name ? `SUMMARY_STYLE_${name.toUpperCase()}` : undefined;
}

function offerStyles() {
  const select = $('summary-style');
  const server = state.server || {};
  const styles = server.summaryStyles || [];
  const chosen = select.value;
  const options = styles.length ? styles.map((style) => new Option(style, style))
    : [new Option('server default', '')]; // a server that does not list its styles
  select.replaceChildren(...options);
  select.value = styles.includes(chosen) ? chosen : (server.defaultSummaryStyle || options[0].value);
  select.disabled = !state.summarizer;
  if (!state.summarizer) $('summary').textContent = 'This server writes no summaries.';
}

// How a summary was made, in an editor's words (the server's method string stays in the tooltip):
// "summarize-ar+map-reduce(90 chunks)+translate-ar-en".
function methodInWords(method) {
  const words = [];
  for (const step of String(method).split('+')) {
    let match;
    if ((match = /^summarize(?:-([a-z-]+))?$/i.exec(step))) {
      words.push(match[1] ? `summarized in ${languageName(match[1])}` : 'summarized');
    } else if ((match = /^map-reduce\(([\d/]+) chunks?\)$/.exec(step))) {
      const [first, ...rounds] = match[1].split('/');
      words.push(`part by part, as the article is too long to read at once (${first} parts` +
        (rounds.length ? `, whose summaries were summarized again in ${rounds.join(', then ')}` : '') + ')');
    } else if (step === 'lead') {
      words.push('from the beginning of the part summaries only, as they did not get shorter');
    } else if (step === 'first-sentence') {
      words.push('but the model wrote nothing, so this is the article\'s first sentence');
    } else if ((match = /^translate-([a-z-]+)-([a-z-]+)$/i.exec(step))) {
      words.push(`then translated from ${languageName(match[1])} into ${languageName(match[2])}`);
    } else {
      return method; // a step this page does not know: the server's own words
    }
  }
  const sentence = words.join(', ').replace(/, then/g, '; then');
  return sentence ? `${sentence[0].toUpperCase()}${sentence.slice(1)}.` : '';
}

// ---- rendering: one element per segment on each side, appended as each segment comes ----

function newParagraph(view) {
  const paragraph = document.createElement('p');
  paragraph.dir = 'auto'; // each paragraph takes its own direction: mixed Arabic and English copy
  view.append(paragraph);
  return paragraph;
}

// Appends text to the view's last paragraph; a line break starts a new paragraph.
function appendText(view, text) {
  const lines = text.split(LINE_BREAK);
  lines.forEach((line, i) => {
    let paragraph = view.lastElementChild;
    if (i > 0 || !paragraph) paragraph = newParagraph(view);
    if (line) paragraph.append(line);
  });
}

function flagName(flag) {
  return String(flag).replace(/^SEGMENT_FLAG_/, '').toLowerCase().replace(/_/g, ' ');
}

function sourceLanguage(segment) {
  return segment.detectedLanguage || '';
}

// A language the server translates from, its target, or undetermined: not "another language".
function expectedLanguage(language) {
  return language === 'und' || language === targetLanguage() || sourceLanguages().includes(language);
}

// The trust signals of one segment: data attributes (styled, and read by tests) and a tooltip.
function annotate(element, segment, index) {
  const notes = [`Segment ${index + 1}`];
  const flags = (segment.flags || []).map(flagName);
  const language = sourceLanguage(segment);
  const passed = flags.includes('passed through');
  if (typeof segment.confidence === 'number') {
    element.dataset.confidence = segment.confidence.toFixed(2);
    notes.push(`confidence ${Math.round(segment.confidence * 100)}%`);
    if (segment.confidence < LOW_CONFIDENCE) {
      element.dataset.lowConfidence = '';
      notes.push('low: check this segment');
    }
  }
  if (flags.length) {
    element.dataset.flags = flags.join(',');
    notes.push(`flags: ${flags.join(', ')}`);
  }
  if ((segment.flags || []).some((flag) => WORTH_A_LOOK.test(flag))) element.dataset.check = '';
  if (segment.glossaryMissing && segment.glossaryMissing.length) {
    element.dataset.glossaryMissing = segment.glossaryMissing.join(',');
    notes.push(`glossary terms missing: ${segment.glossaryMissing.join(', ')}`);
  }
  if (passed) {
    element.dataset.passedThrough = '';
    notes.push(`passed through (${language || 'not translated'})`);
  }
  if (language && !expectedLanguage(language)) {
    element.dataset.otherLanguage = language;
    notes.push(`another language: ${language}`);
  }
  element.title = notes.join(' · ');
}

function segmentElement(text, segment, index, side) {
  const element = document.createElement('span');
  state.elements[side][index] = element;
  element.className = 'seg';
  element.dataset.segment = String(index);
  element.tabIndex = index === Math.max(state.active, 0) ? 0 : -1;
  if (segment.alignment && segment.alignment.length) {
    fillWords(element, text, wordRanges(segment, side));
  } else {
    element.textContent = text;
  }
  annotate(element, segment, index);
  return element;
}

// Below this probability a word is underlined as one of the weakest (Segment.word_confidences).
const WEAK_WORD = 0.5;

// The words of one side of an aligned segment, in order: code-point ranges relative to the
// segment's own text, each with its key ("s" or "t" and its start) and the other side's keys.
function wordRanges(segment, side) {
  const base = segment.sourceStart || 0;
  const words = new Map();
  const add = (key, start, end, extra) => {
    if (!words.has(key)) words.set(key, { key, start, end, linked: [], ...extra });
    return words.get(key);
  };
  if (side === 'target') {
    for (const word of segment.wordConfidences || []) {
      add(`t${word.targetStart || 0}`, word.targetStart || 0, word.targetEnd, { confidence: word.confidence || 0 });
    }
  }
  for (const link of segment.alignment) {
    const source = `s${link.sourceStart || 0}`;
    const target = `t${link.targetStart || 0}`;
    if (side === 'source') {
      add(source, (link.sourceStart || 0) - base, link.sourceEnd - base).linked.push(target);
    } else {
      add(target, link.targetStart || 0, link.targetEnd).linked.push(source);
    }
  }
  return [...words.values()].sort((a, b) => a.start - b.start);
}

// The segment's text with each word in a [data-word] element (offsets count code points).
function fillWords(element, text, ranges) {
  const points = Array.from(text);
  let at = 0;
  for (const range of ranges) {
    if (range.start < at || range.end > points.length) continue; // overlapping or outside: left as text
    element.append(points.slice(at, range.start).join(''));
    const word = document.createElement('span');
    word.dataset.word = range.key;
    word.dataset.linked = range.linked.join(' ');
    word.tabIndex = -1;
    word.textContent = points.slice(range.start, range.end).join('');
    if (range.confidence !== undefined) {
      word.title = `word confidence ${range.confidence.toFixed(2)}`;
      if (range.confidence < WEAK_WORD) word.dataset.weak = '';
    }
    element.append(word);
    at = range.end;
  }
  element.append(points.slice(at).join(''));
}

// Hover or focus on a word: mark the words aligned to it on the other side (data-aligned).
function markAligned(event) {
  const word = event.target.closest && event.target.closest('[data-word]');
  for (const marked of document.querySelectorAll('[data-aligned]')) marked.removeAttribute('data-aligned');
  if (!word) return;
  const segment = word.closest('[data-segment]');
  const view = word.closest('.view');
  if (!segment || !view) return;
  const other = view.id === 'source-view' ? 'target' : 'source';
  const partner = state.elements[other][Number(segment.dataset.segment)];
  if (!partner) return;
  for (const key of (word.dataset.linked || '').split(' ').filter(Boolean)) {
    for (const found of partner.querySelectorAll(`[data-word="${key}"]`)) found.dataset.aligned = '';
  }
}

// Empties both panes for a new translation of state.sourceText. The source pane fills as the
// segments come (the box above holds the whole text): each frame lays out only what is new.
function resetPanes() {
  $('source-view').replaceChildren();
  $('target-view').replaceChildren();
  state.elements = { source: [], target: [] };
  state.sourceAt = 0;
  state.cursor = { codePoint: 0, index: 0 };
  $('segment-info').textContent = '';
  showReady();
}

// The UTF-16 index of code point `codePoint` of the source (the API's offsets count code points).
// Segments come in order, so the cursor only moves forward: linear in the text over a whole story.
function sourceIndex(codePoint) {
  const text = state.sourceText;
  const cursor = state.cursor;
  if (typeof codePoint !== 'number') return text.length;
  if (codePoint < cursor.codePoint) Object.assign(cursor, { codePoint: 0, index: 0 });
  while (cursor.codePoint < codePoint && cursor.index < text.length) {
    const unit = text.charCodeAt(cursor.index);
    const next = text.charCodeAt(cursor.index + 1);
    cursor.index += unit >= 0xd800 && unit <= 0xdbff && next >= 0xdc00 && next <= 0xdfff ? 2 : 1;
    cursor.codePoint += 1;
  }
  return cursor.codePoint === codePoint ? cursor.index : text.length;
}

function lastParagraph(view) {
  return view.lastElementChild || newParagraph(view);
}

// One more segment on both sides: work in proportion to the segment, not to the story so far.
function appendSegment(segment, index) {
  const text = state.sourceText;
  const rendered = $('source-view');
  const start = Math.max(sourceIndex(segment.sourceStart), state.sourceAt);
  const end = Math.max(sourceIndex(segment.sourceEnd), start);
  appendText(rendered, text.slice(state.sourceAt, start));
  lastParagraph(rendered).append(segmentElement(text.slice(start, end), segment, index, 'source'));
  state.sourceAt = end;
  const target = $('target-view');
  appendText(target, segment.separator || '');
  lastParagraph(target).append(segmentElement(segment.translation, segment, index, 'target'));
  if (segment.trailing) appendText(target, segment.trailing);
}

// The translation ended (or stopped): the source after the last segment, as rendered text.
function finishPanes() {
  appendText($('source-view'), state.sourceText.slice(state.sourceAt));
  state.sourceAt = state.sourceText.length;
}

function showReady() {
  const ready = state.segments.length > 0;
  $('copy').disabled = !ready;
  $('download').disabled = !ready;
}

function pair(index) {
  return [state.elements.source[index], state.elements.target[index]].filter(Boolean);
}

// Brings `element` into its pane's own scroll box, never scrolling the page: on a phone the panes
// do not scroll, and moving the page under a finger would mark whatever came under it.
function scrollWithin(element) {
  const view = element.closest('.view');
  if (!view || view.scrollHeight <= view.clientHeight) return;
  const box = view.getBoundingClientRect();
  const rect = element.getBoundingClientRect();
  if (rect.top < box.top) view.scrollTop -= box.top - rect.top + 8;
  else if (rect.bottom > box.bottom) view.scrollTop += rect.bottom - box.bottom + 8;
}

// Marks pair `index`. `from`: the element the editor pointed at, tapped or focused (its pane stays
// still; the other pane scrolls its own box to the pair), or the pane to move the focus in (keyboard).
function mark(index, { from = null, focusIn = null } = {}) {
  if (index < 0 || index >= state.segments.length) return;
  for (const element of pair(state.active)) {
    element.removeAttribute('data-active');
    element.tabIndex = -1;
  }
  state.active = index;
  const [source, target] = [state.elements.source[index], state.elements.target[index]];
  $('segment-info').textContent = target ? target.title : '';
  for (const element of pair(index)) {
    element.setAttribute('data-active', '');
    element.tabIndex = 0;
    if (from && element !== from) scrollWithin(element);
  }
  if (focusIn) {
    const element = focusIn === $('source-view') ? source : target;
    if (element && document.activeElement !== element) element.focus({ preventScroll: true });
    if (element) element.scrollIntoView({ block: 'nearest' }); // the keyboard moved it: show it
    for (const other of pair(index)) if (other !== element) scrollWithin(other);
  }
}

function translatedDocument() {
  if (state.html && state.documentText) return state.documentText;
  return state.segments.map((s) => (s.separator || '') + s.translation + (s.trailing || '')).join('');
}

// ---- translating ----

function glossary() {
  const terms = {};
  for (const row of $('glossary-rows').querySelectorAll('tr')) {
    const [term, rendering] = row.querySelectorAll('input');
    if (term.value.trim() && rendering.value.trim()) terms[term.value.trim()] = rendering.value.trim();
  }
  return terms;
}

function updateButtons() {
  $('translate').disabled = Boolean(state.controller);
  $('stop').disabled = !state.controller && !state.summaryController;
}

function stopAll() {
  for (const controller of [state.controller, state.summaryController]) if (controller) controller.abort();
}

// The source box no longer holds what the panes show: say so, and grey the old result.
function checkStale() {
  const stale = Boolean(state.sourceText) && $('source').value !== state.sourceText;
  const panes = $('result');
  if (stale === panes.hasAttribute('data-stale')) return;
  panes.toggleAttribute('data-stale', stale);
  $('stale').hidden = !stale;
  if (stale) $('action-status').textContent = '';
}

function setHtmlMode(html, why) {
  $('html-mode').checked = html;
  const note = $('html-note');
  const text = $('source').value;
  if (html && why === 'detected') note.textContent = 'HTML detected: the tags are kept and only the text is translated.';
  else if (!html && LOOKS_LIKE_HTML.test(text)) note.textContent = 'Plain text: tags will be translated as words.';
  else note.textContent = '';
  note.hidden = !note.textContent;
}

function onSourceInput() {
  const text = $('source').value;
  if (!text.trim()) state.htmlChosen = null;
  if (state.htmlChosen === null) setHtmlMode(LOOKS_LIKE_HTML.test(text), 'detected');
  checkStale();
}

function done() {
  const timings = state.timings;
  const took = timings && timings.totalMs
    ? ` in ${(timings.totalMs / 1000).toFixed(1)} s (model ${(timings.modelMs / 1000).toFixed(1)} s)` : '';
  const scored = state.segments.filter((s) => typeof s.confidence === 'number');
  const low = scored.filter((s) => s.confidence < LOW_CONFIDENCE).length;
  const flagged = state.segments.filter((s) => (s.flags || []).some((f) => WORTH_A_LOOK.test(f))).length;
  const check = scored.length || flagged
    ? ` ${low} below ${LOW_CONFIDENCE * 100}% confidence, ${flagged} flagged${low || flagged ? ': check the marked segments' : ''}.`
    : '';
  return `Done: ${state.segments.length} segments${took}.${check}`;
}

async function translate() {
  const text = $('source').value;
  showError('');
  if (!text.trim()) {
    showError('There is nothing to translate: paste an Arabic article into the box, or open a .txt or .html file.');
    $('source').focus();
    return;
  }
  const limit = state.server && state.server.maxTextChars;
  const length = Array.from(text).length;
  if (limit && length > limit) {
    showError(`The text has ${length} characters; this server takes at most ${limit}. Split it and translate the parts.`);
    return;
  }
  stopAll(); // Ctrl+Enter while a call runs: the new one replaces it
  const generation = ++state.generation;
  const current = () => generation === state.generation;
  state.html = $('html-mode').checked;
  state.sourceLanguage = $('source-language').value;
  state.timings = null;
  state.sourceText = text;
  state.documentText = '';
  state.segments = [];
  state.active = -1;
  $('action-status').textContent = '';
  showPreview();
  resetPanes();
  checkStale();
  const controller = new AbortController();
  state.controller = controller;
  updateButtons();
  // Word alignment: which words came from which, and each word's confidence (hover a word).
  const request = { texts: [text], glossary: glossary(), alignment: true };
  if (state.html) request.mimeType = 'text/html';
  if (state.sourceLanguage) request.sourceLanguage = state.sourceLanguage;
  summarize();
  try {
    if (state.html) {
      // The translated HTML document comes from Translate; the stream carries segments only.
      setProgress('Translating…', 0, 1);
      const response = await call('Translate', request, controller.signal);
      if (!current()) return;
      state.segments = response.translations[0].segments;
      state.documentText = response.translations[0].text;
      state.timings = response.timings || null;
      state.segments.forEach(appendSegment);
      finishPanes();
      showReady();
      showPreview();
      setProgress(done(), 1, 1);
    } else {
      setProgress('Translating…', 0, 1);
      let total = 0;
      await stream('StreamTranslate', request, (event) => {
        if (!current()) return;
        total = event.totalSegments;
        if (event.timings) state.timings = event.timings;
        state.segments.push(event.segment);
        appendSegment(event.segment, state.segments.length - 1);
        if (state.segments.length === 1) showReady();
        setProgress(`Translating: segment ${state.segments.length} of ${total}`, state.segments.length, total);
      }, controller.signal);
      if (!current()) return;
      finishPanes();
      setProgress(done(), state.segments.length, Math.max(total, 1));
    }
    if (state.active < 0) mark(0);
  } catch (error) {
    if (!current()) return;
    finishPanes();
    if (error.name === 'AbortError') {
      setProgress(`Stopped after ${state.segments.length} segments.`, state.segments.length,
        Math.max(state.segments.length, 1));
    } else {
      setProgress('');
      showError(error);
    }
  } finally {
    if (current()) {
      state.controller = null;
      updateButtons();
    }
    showUsage();
  }
}

// The translated HTML document as a browser shows it: a sandboxed frame (no scripts, no forms, its
// own origin), its content given as srcdoc, so the page's policy (no inline script) holds.
function showPreview() {
  const section = $('preview-section');
  const shown = state.html && Boolean(state.documentText);
  section.hidden = !shown;
  const old = $('preview');
  if (old) old.remove();
  if (!shown) return;
  const frame = document.createElement('iframe');
  frame.id = 'preview';
  frame.dataset.testid = 'preview';
  frame.title = 'Preview of the translated HTML document';
  frame.setAttribute('sandbox', '');
  frame.srcdoc = state.documentText;
  section.append(frame);
}

// Summarizes what was last translated, in the style chosen now; a newer summary replaces this one
// (its late answer is dropped), and Stop cancels it.
async function summarize() {
  const summary = $('summary');
  const meta = $('summary-meta');
  if (!state.summarizer || !state.sourceText) return;
  if (state.summaryController) state.summaryController.abort();
  const controller = new AbortController();
  state.summaryController = controller;
  const generation = ++state.summaryGeneration;
  const current = () => generation === state.summaryGeneration;
  updateButtons();
  summary.textContent = 'Summarizing…';
  meta.textContent = '';
  meta.title = '';
  summary.removeAttribute('data-ready');
  const request = { text: state.sourceText, style: styleValue($('summary-style').value) };
  if (targetLanguage()) request.summaryLanguage = targetLanguage();
  if (state.sourceLanguage) request.sourceLanguage = state.sourceLanguage;
  if (state.html) request.mimeType = 'text/html';
  try {
    const result = await call('Summarize', request, controller.signal);
    if (!current()) return;
    summary.textContent = result.summary;
    const parts = [`Style: ${result.style}`, methodInWords(result.method), `Model: ${result.model}`];
    if (typeof result.confidence === 'number') parts.push(`confidence ${Math.round(result.confidence * 100)}%`);
    meta.textContent = parts.join(' · ');
    meta.title = `method: ${result.method}`;
    summary.dataset.ready = '';
  } catch (error) {
    if (!current()) return;
    summary.textContent = error.name === 'AbortError' ? 'Stopped.' : describe(error);
  } finally {
    if (current()) {
      state.summaryController = null;
      updateButtons();
    }
  }
}

// ---- files, glossary, copy, download ----

async function openFile(file) {
  const bytes = await file.arrayBuffer();
  let text;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch (_) {
    text = new TextDecoder('windows-1256').decode(bytes); // legacy Arabic newsroom files
  }
  $('source').value = text;
  state.htmlChosen = null;
  const html = /\.html?$/i.test(file.name) || /^\s*</.test(text) || LOOKS_LIKE_HTML.test(text);
  setHtmlMode(html, 'detected');
  checkStale();
  showError('');
}

function addGlossaryRow(term = '', rendering = '') {
  const row = document.createElement('tr');
  const count = $('glossary-rows').children.length + 1;
  const cells = [
    ['term', term, `Arabic term ${count}`, 'ar', 'rtl'],
    ['rendering', rendering, `Rendering ${count}`, 'en', 'ltr'],
  ];
  for (const [name, value, label, lang, dir] of cells) {
    const cell = document.createElement('td');
    const input = document.createElement('input');
    Object.assign(input, { type: 'text', value, lang, dir });
    input.name = name;
    input.setAttribute('aria-label', label);
    cell.append(input);
    row.append(cell);
  }
  const cell = document.createElement('td');
  const remove = document.createElement('button');
  remove.type = 'button';
  remove.textContent = 'Remove';
  remove.setAttribute('aria-label', `Remove term ${count}`);
  remove.addEventListener('click', () => { row.remove(); countTerms(); });
  cell.append(remove);
  row.append(cell);
  $('glossary-rows').append(row);
  countTerms();
  return row;
}

function countTerms() {
  const n = Object.keys(glossary()).length;
  $('glossary-count').textContent = `${n} term${n === 1 ? '' : 's'}`;
}

async function copy() {
  const text = translatedDocument();
  try {
    await navigator.clipboard.writeText(text);
    $('action-status').textContent = 'Copied.';
  } catch (_) {
    $('action-status').textContent = 'The browser refused the clipboard: use Download instead.';
  }
}

function download() {
  const type = state.html ? 'text/html' : 'text/plain';
  const blob = new Blob([translatedDocument()], { type: `${type};charset=utf-8` });
  const link = document.createElement('a');
  link.href = URL.createObjectURL(blob);
  link.download = state.html ? 'translation.html' : 'translation.txt';
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(link.href), 10000);
}

// ---- wiring ----

// Where the pointer last pointed: a pane scrolled under a still pointer (Alt+Down brings the
// pair into view) fires mouseover too, which is not the editor pointing at another segment.
let lastPointer = '';

function onPoint(event) {
  const here = `${event.clientX},${event.clientY}`;
  if (here === lastPointer) return;
  lastPointer = here;
  const element = event.target.closest && event.target.closest('[data-segment]');
  if (element && Number(element.dataset.segment) !== state.active) mark(Number(element.dataset.segment));
}

// A focus (a tap, a click, Tab): mark the pair and bring the other side into its own pane.
function onFocus(event) {
  const element = event.target.closest && event.target.closest('[data-segment]');
  if (element) mark(Number(element.dataset.segment), { from: element });
}

function onKey(event) {
  if (!event.altKey || (event.key !== 'ArrowDown' && event.key !== 'ArrowUp')) return;
  if (!state.segments.length) return;
  event.preventDefault();
  const step = event.key === 'ArrowDown' ? 1 : -1;
  const next = Math.min(Math.max(state.active + step, 0), state.segments.length - 1);
  const view = document.activeElement && document.activeElement.closest('.view');
  mark(next, { focusIn: view || $('target-view') });
}

function start() {
  $('translate').addEventListener('click', translate);
  $('stop').addEventListener('click', stopAll);
  $('file').addEventListener('change', (event) => event.target.files[0] && openFile(event.target.files[0]));
  $('glossary-add').addEventListener('click', () => addGlossaryRow().querySelector('input').focus());
  $('glossary-rows').addEventListener('input', countTerms);
  // Another style: summarize the translated article again (the translation stays).
  $('summary-style').addEventListener('change', () => summarize());
  $('source').addEventListener('input', onSourceInput);
  $('html-mode').addEventListener('change', () => {
    state.htmlChosen = $('html-mode').checked;
    setHtmlMode(state.htmlChosen, 'chosen');
  });
  $('copy').addEventListener('click', copy);
  $('download').addEventListener('click', download);
  for (const view of [$('source-view'), $('target-view')]) {
    view.addEventListener('mouseover', onPoint);
    view.addEventListener('focusin', onFocus);
    view.addEventListener('mouseover', markAligned);
    view.addEventListener('focusin', markAligned);
  }
  document.addEventListener('keydown', onKey);
  $('source').addEventListener('keydown', (event) => {
    if (event.key === 'Enter' && (event.ctrlKey || event.metaKey)) translate();
  });
  $('token-form').addEventListener('submit', (event) => {
    event.preventDefault();
    sessionStorage.setItem(TOKEN_KEY, $('token').value.trim());
    $('token').value = '';
    loadModels();
  });
  addGlossaryRow();
  loadModels();
}

start();
