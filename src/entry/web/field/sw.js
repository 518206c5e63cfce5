// The field app's service worker: the app itself (its few files) is cached when installed and
// served from the cache, so the app opens with no network at all; the gateway's API is never
// cached here (the app keeps its data in IndexedDB and says when it last reached the gateway).
// A new version of the app (VERSION) replaces the old cache when it activates.
const VERSION = 'field-v2';
const SHELL = [
  './',
  'index.html',
  'app.js',
  'store.js',
  'ui.js',
  'reader.js',
  'photo.js',
  'field.css',
  'manifest.webmanifest',
  'icon.svg',
  'icon-192.png',
  'icon-512.png',
];
/** @type {any} */
const sw = self;

sw.addEventListener('install', (event) => {
  event.waitUntil(
    caches
      .open(VERSION)
      .then((cache) => cache.addAll(SHELL))
      .then(() => sw.skipWaiting()),
  );
});

sw.addEventListener('activate', (event) => {
  event.waitUntil(
    caches
      .keys()
      .then((keys) => Promise.all(keys.filter((k) => k !== VERSION).map((k) => caches.delete(k))))
      .then(() => sw.clients.claim()),
  );
});

sw.addEventListener('fetch', (event) => {
  const url = new URL(event.request.url);
  if (event.request.method !== 'GET' || url.origin !== location.origin || !url.pathname.startsWith('/field/')) return;
  // The shell: from the cache first (offline), refreshed from the network when it answers.
  event.respondWith(
    caches.open(VERSION).then(async (cache) => {
      const key = url.pathname === '/field/' ? './' : event.request;
      const cached = await cache.match(key, { ignoreSearch: true });
      const network = fetch(event.request)
        .then((res) => {
          if (res.ok) void cache.put(key, res.clone());
          return res;
        })
        .catch(() => undefined);
      return cached ?? (await network) ?? new Response('offline', { status: 503 });
    }),
  );
});
