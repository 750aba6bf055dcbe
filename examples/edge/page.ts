/**
 * `GET /`: paste or generate NDJSON actions, send them to
 * `POST /actions?progress=true`, and watch the batch: one row per action,
 * queued, running, finished and waiting, emitted. Dependency-free HTML, CSS
 * and JS, served as one string.
 */
export const page = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>effect-ordered: edge demo</title>
<style>
  :root {
    --bg: #f6f7f9; --card: #fff; --text: #1c2330; --muted: #5d6778; --line: #e2e5ea; --accent: #2f5bea;
    --queued: #c9ced6; --running: #2f7de1; --waiting: #e89a12; --emitted: #1f9d55; --failed: #d23c3c;
    color-scheme: light dark;
  }
  @media (prefers-color-scheme: dark) {
    :root { --bg: #12161d; --card: #1a2029; --text: #e6e9ee; --muted: #9aa4b2; --line: #2b3340; --queued: #3a4350; }
  }
  * { box-sizing: border-box; }
  body { margin: 0; background: var(--bg); color: var(--text); font: 15px/1.5 system-ui, -apple-system, "Segoe UI", sans-serif; }
  main { max-width: 64rem; margin: 0 auto; padding: 1rem; display: grid; gap: 1rem; }
  header h1 { margin: 0.5rem 0 0; font-size: 1.5rem; }
  header p { margin: 0.25rem 0 0; color: var(--muted); }
  .card { background: var(--card); border: 1px solid var(--line); border-radius: 12px; padding: 1rem; min-width: 0; }
  .card h2 { margin: 0 0 0.5rem; font-size: 1.05rem; }
  code { font: 0.9em ui-monospace, SFMono-Regular, Menlo, monospace; }
  .terms { display: grid; gap: 0.5rem; grid-template-columns: repeat(auto-fit, minmax(13rem, 1fr)); margin: 0.75rem 0 0; padding: 0; list-style: none; }
  .terms li { border-left: 4px solid var(--c); padding: 0.1rem 0 0.1rem 0.6rem; }
  .terms b { display: block; }
  textarea { width: 100%; height: 9rem; font: 12px/1.4 ui-monospace, monospace; padding: 0.5rem; border: 1px solid var(--line);
    border-radius: 8px; background: var(--bg); color: var(--text); resize: vertical; white-space: pre; overflow-wrap: normal; }
  .controls { display: flex; flex-wrap: wrap; gap: 0.5rem; align-items: center; margin-top: 0.75rem; }
  .controls label { display: flex; gap: 0.35rem; align-items: center; color: var(--muted); }
  input, select, button { font: inherit; padding: 0.35rem 0.6rem; border-radius: 8px; border: 1px solid var(--line); background: var(--card); color: var(--text); }
  input[type=number] { width: 5.5rem; }
  button { cursor: pointer; }
  button.primary { background: var(--accent); border-color: var(--accent); color: #fff; font-weight: 600; }
  button:disabled { opacity: 0.5; cursor: default; }
  #status { color: var(--muted); }
  #error { color: var(--failed); margin: 0.5rem 0 0; overflow-wrap: anywhere; }
  #error:empty { display: none; }
  .tally { display: flex; flex-wrap: wrap; gap: 0.4rem 1rem; margin: 0 0 0.6rem; color: var(--muted); font-size: 0.9rem; }
  .dot { display: inline-block; width: 0.7rem; height: 0.7rem; border-radius: 3px; background: var(--c); margin-right: 0.3rem; vertical-align: -0.05rem; }
  #picture { display: flex; flex-wrap: wrap; gap: 3px; margin-bottom: 0.75rem; }
  #picture span { width: 12px; height: 12px; border-radius: 3px; background: var(--queued); }
  #picture span[data-state=running], .row[data-state=running] .state { background: var(--running); }
  #picture span[data-state=waiting], .row[data-state=waiting] .state { background: var(--waiting); }
  #picture span[data-state=emitted], .row[data-state=emitted] .state { background: var(--emitted); }
  #picture span[data-state=failed], .row[data-state=failed] .state { background: var(--failed); }
  #rows { list-style: none; margin: 0; padding: 0; max-height: 32rem; overflow-y: auto; border-top: 1px solid var(--line); }
  .row { display: grid; grid-template-columns: 2.5rem minmax(0, 1fr) 4rem 5.5rem 3rem minmax(0, 1.4fr); gap: 0.5rem; align-items: center;
    padding: 0.3rem 0.25rem; border-bottom: 1px solid var(--line); font-size: 0.85rem; }
  .row.head { font-weight: 600; color: var(--muted); position: sticky; top: 0; background: var(--card); }
  .row > span { min-width: 0; overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
  .row .line, .row .finished { font-variant-numeric: tabular-nums; color: var(--muted); }
  .row .key { font-family: ui-monospace, monospace; }
  .row .state { border-radius: 999px; padding: 0.05rem 0.5rem; text-align: center; color: #fff; background: var(--queued); font-size: 0.78rem; }
  .row[data-state=queued] .state { color: var(--text); }
  .row .result.fail { color: var(--failed); }
  @media (max-width: 40rem) {
    main { padding: 0.6rem; }
    .row { grid-template-columns: 2rem minmax(0, 1fr) 5.5rem 2.5rem; row-gap: 0; }
    .row.head .type, .row.head .result { display: none; }
    .row .type, .row .result { grid-row: 2; font-size: 0.8rem; color: var(--muted); }
    .row .type { grid-column: 2; }
    .row .result { grid-column: 3 / -1; }
  }
</style>
</head>
<body>
<main>
<header>
  <h1>Ordered actions</h1>
  <p>Actions on an order book run concurrently, and are applied in the order you sent them.</p>
</header>

<section class="card" aria-labelledby="how">
  <h2 id="how">Input order and finish order</h2>
  <p>Each line is an action. Its costly step (validation, pricing; here a sleep of <code>latencyMs</code>)
  runs concurrently with the others, so steps <em>finish</em> in any order. The book must still see
  the actions in <em>input order</em>: a <code>cancel</code> applied before its <code>place</code> would leave the
  order open. So a finished action waits until every action above it is emitted.</p>
  <ul class="terms">
    <li style="--c: var(--running)"><b>running</b>its costly step is in progress (at most <code>CONCURRENCY</code> at once).</li>
    <li style="--c: var(--waiting)"><b>finished, waiting</b>its step is done (<code>#n</code>: the n-th of the batch to finish); an action above it is still running.</li>
    <li style="--c: var(--emitted)"><b>emitted</b>released in input order: applied to the book and streamed back to you.</li>
  </ul>
  <p>With order <code>key</code> an action waits only for earlier actions on its own key; with <code>none</code> nothing waits.</p>
</section>

<section class="card" aria-labelledby="batch-title">
  <h2 id="batch-title">Your batch</h2>
  <textarea id="actions" spellcheck="false" aria-label="Actions, one JSON object a line"></textarea>
  <div class="controls">
    <label>Actions <input id="count" type="number" value="40" min="2" max="1000"></label>
    <button id="generate">Generate</button>
    <label>Order <select id="order"><option>total</option><option>key</option><option>none</option></select></label>
    <button id="send" class="primary">Send</button>
    <span id="status" role="status"></span>
  </div>
  <p id="error"></p>
</section>

<section class="card" aria-labelledby="picture-title">
  <h2 id="picture-title">The batch, live</h2>
  <div class="tally">
    <span><i class="dot" style="--c: var(--queued)"></i>queued <b id="n-queued">0</b></span>
    <span><i class="dot" style="--c: var(--running)"></i>running <b id="n-running">0</b></span>
    <span><i class="dot" style="--c: var(--waiting)"></i>finished, waiting <b id="n-waiting">0</b></span>
    <span><i class="dot" style="--c: var(--emitted)"></i>emitted <b id="n-emitted">0</b></span>
  </div>
  <div id="picture" aria-label="One square per action, in input order"></div>
  <ol id="rows">
    <li class="row head"><span class="line">line</span><span class="key">key</span><span class="type">type</span><span class="state-h">state</span><span class="finished">done</span><span class="result">result</span></li>
  </ol>
</section>
</main>
<script>
const $ = (id) => document.getElementById(id)
const rank = { queued: 0, running: 1, waiting: 2, emitted: 3, failed: 3 }
let batch = 0
let rows = []

// Each Generate uses keys no earlier batch used, and closes every order it opens
// (place, updates, cancel), so the same batch can be sent again and again.
$("generate").onclick = () => {
  const n = Math.max(2, Math.min(1000, Number($("count").value) || 2))
  const prefix = Date.now().toString(36) + "-" + (++batch)
  const sizes = []
  for (let left = n; left > 0;) {
    const size = left === 4 ? 4 : left === 2 ? 2 : Math.min(3, left)
    sizes.push(size)
    left -= size
  }
  const lines = []
  sizes.forEach((size, k) => {
    const key = prefix + "-" + k
    for (let j = 0; j < size; j++) {
      const latencyMs = 20 + Math.floor(Math.random() * 400)
      const action = j === 0
        ? { key, type: "place", payload: { side: k % 2 ? "buy" : "sell", price: 100 + k, quantity: 1 + k } }
        : j === size - 1
        ? { key, type: "cancel" }
        : { key, type: "update", payload: { quantity: 10 + k + j } }
      lines.push(JSON.stringify({ ...action, latencyMs }))
    }
  })
  $("actions").value = lines.join("\\n")
}

const tally = () => {
  const counts = { queued: 0, running: 0, waiting: 0, emitted: 0 }
  for (const row of rows) counts[row.state === "failed" ? "emitted" : row.state]++
  for (const state in counts) $("n-" + state).textContent = counts[state]
}

const setState = (row, state, finished) => {
  if (!row || rank[state] < rank[row.state] || row.state === state) return
  row.state = state
  row.el.dataset.state = state
  row.square.dataset.state = state
  row.el.querySelector(".state").textContent = state === "waiting" ? "waiting" : state
  if (finished !== undefined) {
    row.el.dataset.finished = finished
    row.el.querySelector(".finished").textContent = "#" + finished
  }
}

const span = (className, text) => {
  const el = document.createElement("span")
  el.className = className
  el.textContent = text
  return el
}

// One row per non-blank line, numbered as the server numbers them.
const drawRows = (text) => {
  $("picture").replaceChildren()
  for (const row of rows) row.el.remove()
  rows = []
  text.split("\\n").forEach((raw, i) => {
    if (raw.trim() === "") return
    let action = {}
    try { action = JSON.parse(raw) } catch {}
    const el = document.createElement("li")
    el.className = "row"
    el.dataset.line = String(i + 1)
    el.dataset.state = "queued"
    el.append(span("line", String(i + 1)), span("key", String(action.key ?? "?")), span("type", String(action.type ?? "?")),
      span("state", "queued"), span("finished", ""), span("result", ""))
    const square = document.createElement("span")
    square.dataset.state = "queued"
    square.title = "line " + (i + 1)
    $("picture").append(square)
    $("rows").append(el)
    rows.push({ el, square, state: "queued" })
  })
  tally()
}

const describe = (result) => result.ok
  ? result.order.side + " " + result.order.quantity + " @ " + result.order.price
  : result.error.message

const show = (line) => {
  if (line.progress !== undefined) {
    setState(rows[line.index], line.progress === "started" ? "running" : "waiting", line.finished)
  } else if (line.index !== undefined) {
    const row = rows[line.index]
    setState(row, line.ok ? "emitted" : "failed", line.finished)
    const result = row.el.querySelector(".result")
    result.textContent = describe(line)
    result.title = result.textContent
    if (!line.ok) result.classList.add("fail")
  } else {
    // the stream failed after it started: the server ends it with an error line
    $("error").textContent = line.error
  }
}

$("send").onclick = async () => {
  const text = $("actions").value
  $("send").disabled = true
  $("error").textContent = ""
  $("status").textContent = "sending…"
  drawRows(text)
  try {
    const response = await fetch("/actions?progress=true&order=" + $("order").value, {
      method: "POST",
      headers: { "content-type": "application/x-ndjson" },
      body: text
    })
    if (!response.ok) {
      const rejection = await response.json()
      $("error").textContent = rejection.error + (rejection.line ? " (line " + rejection.line + ")" : "") +
        (rejection.path ? " at " + rejection.path.join(".") + ": " + rejection.message : "")
      $("status").textContent = "rejected: " + response.status
      return
    }
    const reader = response.body.pipeThrough(new TextDecoderStream()).getReader()
    let buffer = ""
    let pending = false
    for (;;) {
      const { done, value } = await reader.read()
      if (done) break
      buffer += value
      const lines = buffer.split("\\n")
      buffer = lines.pop()
      for (const line of lines) if (line) show(JSON.parse(line))
      if (!pending) {
        pending = true
        requestAnimationFrame(() => { pending = false; tally() })
      }
    }
    tally()
    const failed = rows.filter((row) => row.state === "failed").length
    $("status").textContent = "done: " + rows.filter((row) => rank[row.state] === 3).length + " results" +
      (failed ? ", " + failed + " failed" : "")
  } catch (error) {
    $("error").textContent = String(error)
    $("status").textContent = "failed"
  } finally {
    $("send").disabled = false
  }
}

$("generate").click()
</script>
</body>
</html>
`
