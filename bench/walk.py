"""Walks the links of a built site from its start page, as a visitor
clicking would, and counts the article pages reached and the clicks each
needs (tests/archives.rs does the same at 500 records; this is for 100 000).

    stadtfeed build --feeds CORPUS --out OUT && python3 bench/walk.py OUT BASE_URL
"""
import os, re, sys, collections, urllib.parse
root, base = sys.argv[1], sys.argv[2].rstrip('/')
href = re.compile(r'href="([^"#]+)"')
def page_file(url_path):
    p = url_path.lstrip('/')
    if p == '' or p.endswith('/'): p += 'index.html'
    return os.path.join(root, p)
start = '/'
depth = {start: 0}
queue = collections.deque([start])
while queue:
    cur = queue.popleft()
    f = page_file(cur)
    if not f.endswith('.html') or not os.path.isfile(f): continue
    text = open(f, encoding='utf-8').read()
    for h in href.findall(text):
        h = h.replace('&amp;', '&')
        if h.startswith(base): h = h[len(base):] or '/'
        elif h.startswith('http') or h.startswith('mailto:') or h.startswith('tel:'): continue
        else: h = urllib.parse.urljoin(cur, h)
        h = h.split('?')[0]
        if not (h.endswith('/') ) : continue
        if h not in depth:
            depth[h] = depth[cur] + 1
            queue.append(h)
arts = {p: d for p, d in depth.items() if p.startswith('/artikel/')}
published = len(os.listdir(os.path.join(root, 'artikel')))
print(f"articles reached {len(arts)} of {published}; max clicks {max(arts.values())}; pages reached {len(depth)}")
print(collections.Counter(arts.values()))
