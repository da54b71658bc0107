// The editor's page: calls the server's JSON API (Connect protocol) on its own origin.
// No framework, no build step, nothing fetched from anywhere else.
'use strict';

const SERVICE = '/tarjama.v1.TarjamaService/';
const TOKEN_KEY = 'tarjama-token';
// Segments whose confidence is below this are marked for checking. The proto's advice holds: a
// threshold is best chosen on a sample of one's own copy with the model one runs.
const LOW_CONFIDENCE = 0.5;
const LINE_BREAK = /\r\n|[\n\r\u000b\u000c\u0085\u2028\u2029]/;
const NOT_TRANSLATED = new Set(['en', 'und']);
// Flags that ask an editor to look (passed through and cached ones do not).
const WORTH_A_LOOK = /REPETITION_RETRIED|CUT|UNUSUAL_LENGTH|SOURCE_COPIED|GLOSSARY_MISSING/;

const $ = (id) => document.getElementById(id);
const state = {
  segments: [], // the current translation's segments, in order
  sourceText: '', // the text they point into
  documentText: '', // the whole translated document, once known (HTML mode, or rebuilt)
  html: false,
  active: -1,
  controller: null, // aborts the call in flight (Stop)
  models: [],
  server: null, // ServerInfo from ListModels, when the server sends it: the limits to respect
  timings: null, // the call's timings, when the server sends them
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
    case 400: return `The server could not take this request: ${error.message}`;
    case 401: return 'This server needs an access token: enter it above.';
    case 413: return error.message;
    case 429: return `The server is busy: ${error.message}` +
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
}

// ---- rendering: one element per segment on each side ----

function codePointOffsets(text) {
  // offsets[i] is the UTF-16 index of code point i (the API's offsets count code points).
  const offsets = [0];
  let index = 0;
  for (const character of text) {
    index += character.length;
    offsets.push(index);
  }
  return offsets;
}

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
  if (language && language !== 'ar' && !NOT_TRANSLATED.has(language)) {
    element.dataset.otherLanguage = language;
    notes.push(`another language: ${language}`);
  }
  element.title = notes.join(' · ');
}

function segmentElement(text, segment, index) {
  const element = document.createElement('span');
  element.className = 'seg';
  element.dataset.segment = String(index);
  element.tabIndex = index === Math.max(state.active, 0) ? 0 : -1;
  element.textContent = text;
  annotate(element, segment, index);
  return element;
}

function render() {
  const source = $('source-view');
  const target = $('target-view');
  source.replaceChildren();
  target.replaceChildren();
  const text = state.sourceText;
  const offsets = codePointOffsets(text);
  let at = 0; // UTF-16 index into the source
  state.segments.forEach((segment, index) => {
    const start = offsets[segment.sourceStart] ?? text.length;
    const end = offsets[segment.sourceEnd] ?? text.length;
    appendText(source, text.slice(at, start));
    (source.lastElementChild || newParagraph(source)).append(segmentElement(text.slice(start, end), segment, index));
    at = end;
    appendText(target, segment.separator || '');
    (target.lastElementChild || newParagraph(target)).append(segmentElement(segment.translation, segment, index));
    if (segment.trailing) appendText(target, segment.trailing);
  });
  appendText(source, text.slice(at));
  if (state.active >= 0) mark(state.active, false);
  else $('segment-info').textContent = '';
  const ready = state.segments.length > 0;
  $('copy').disabled = !ready;
  $('download').disabled = !ready;
}

function pair(index) {
  const selector = `[data-segment="${index}"]`;
  return [$('source-view').querySelector(selector), $('target-view').querySelector(selector)];
}

function mark(index, scroll = true, focusIn = null) {
  if (index < 0 || index >= state.segments.length) return;
  for (const element of document.querySelectorAll('.view [data-active], .view [tabindex="0"]')) {
    element.removeAttribute('data-active');
    element.tabIndex = -1;
  }
  state.active = index;
  const [, target] = pair(index);
  $('segment-info').textContent = target ? target.title : '';
  for (const element of pair(index)) {
    if (!element) continue;
    element.setAttribute('data-active', '');
    element.tabIndex = 0;
    if (scroll) element.scrollIntoView({ block: 'nearest' });
  }
  if (focusIn) {
    const element = focusIn.querySelector(`[data-segment="${index}"]`);
    if (element && document.activeElement !== element) element.focus({ preventScroll: true });
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

function finish() {
  state.controller = null;
  $('translate').disabled = false;
  $('stop').disabled = true;
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
  state.html = $('html-mode').checked;
  state.timings = null;
  state.sourceText = text;
  state.documentText = '';
  state.segments = [];
  state.active = -1;
  render();
  const controller = new AbortController();
  state.controller = controller;
  $('translate').disabled = true;
  $('stop').disabled = false;
  const request = { texts: [text], glossary: glossary() };
  if (state.html) request.mimeType = 'text/html';
  summarize(text, controller.signal);
  try {
    if (state.html) {
      // The translated HTML document comes from Translate; the stream carries segments only.
      setProgress('Translating…', 0, 1);
      const response = await call('Translate', request, controller.signal);
      state.segments = response.translations[0].segments;
      state.documentText = response.translations[0].text;
      state.timings = response.timings || null;
      render();
      setProgress(done(), 1, 1);
    } else {
      setProgress('Translating…', 0, 1);
      let total = 0;
      await stream('StreamTranslate', request, (event) => {
        total = event.totalSegments;
        if (event.timings) state.timings = event.timings;
        state.segments.push(event.segment);
        render();
        setProgress(`Translating: segment ${state.segments.length} of ${total}`, state.segments.length, total);
      }, controller.signal);
      setProgress(done(), state.segments.length, Math.max(total, 1));
    }
    if (state.active < 0) mark(0, false);
  } catch (error) {
    if (error.name === 'AbortError') {
      setProgress(`Stopped after ${state.segments.length} segments.`, state.segments.length,
        Math.max(state.segments.length, 1));
    } else {
      setProgress('');
      showError(error);
    }
  } finally {
    finish();
  }
}

async function summarize(text, signal) {
  const summary = $('summary');
  const meta = $('summary-meta');
  summary.textContent = 'Summarizing…';
  meta.textContent = '';
  summary.removeAttribute('data-ready');
  const request = { text, summaryLanguage: 'en', style: $('summary-style').value };
  try {
    const result = await call('Summarize', request, signal);
    summary.textContent = result.summary;
    const parts = [`style: ${result.style}`, `method: ${result.method}`, `model: ${result.model}`];
    if (typeof result.confidence === 'number') parts.push(`confidence ${Math.round(result.confidence * 100)}%`);
    meta.textContent = parts.join(' · ');
    summary.dataset.ready = '';
  } catch (error) {
    summary.textContent = error.name === 'AbortError' ? 'Stopped.' : describe(error);
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
  $('html-mode').checked = /\.html?$/i.test(file.name) || /^\s*</.test(text);
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

function onPointOrFocus(event) {
  const element = event.target.closest && event.target.closest('[data-segment]');
  if (element) mark(Number(element.dataset.segment), event.type === 'focusin');
}

function onKey(event) {
  if (!event.altKey || (event.key !== 'ArrowDown' && event.key !== 'ArrowUp')) return;
  if (!state.segments.length) return;
  event.preventDefault();
  const step = event.key === 'ArrowDown' ? 1 : -1;
  const next = Math.min(Math.max(state.active + step, 0), state.segments.length - 1);
  const view = document.activeElement && document.activeElement.closest('.view');
  mark(next, true, view || null);
}

function start() {
  $('translate').addEventListener('click', translate);
  $('stop').addEventListener('click', () => state.controller && state.controller.abort());
  $('file').addEventListener('change', (event) => event.target.files[0] && openFile(event.target.files[0]));
  $('glossary-add').addEventListener('click', () => addGlossaryRow().querySelector('input').focus());
  $('glossary-rows').addEventListener('input', countTerms);
  // Another style: summarize the translated article again (the translation stays).
  $('summary-style').addEventListener('change', () => {
    if (state.sourceText && !state.controller) summarize(state.sourceText);
  });
  $('copy').addEventListener('click', copy);
  $('download').addEventListener('click', download);
  for (const view of [$('source-view'), $('target-view')]) {
    view.addEventListener('mouseover', onPointOrFocus);
    view.addEventListener('focusin', onPointOrFocus);
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
