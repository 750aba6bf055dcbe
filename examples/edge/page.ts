/**
 * `GET /`: paste or generate NDJSON actions, send them to `POST /actions`, and
 * watch the results arrive in input order, with the order their costly step
 * finished in shown beside them.
 */
export const page = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>effect-ordered: edge demo</title>
<style>
  body { font: 14px system-ui, sans-serif; margin: 2rem; max-width: 60rem; }
  textarea { width: 100%; height: 12rem; font: 12px ui-monospace, monospace; }
  table { border-collapse: collapse; margin-top: 1rem; width: 100%; }
  td, th { border-bottom: 1px solid #ddd; padding: 2px 8px; text-align: left; font: 12px ui-monospace, monospace; }
  .fail { color: #b00; }
  #status { margin-left: 1rem; }
</style>
</head>
<body>
<h1>Ordered actions</h1>
<p>One action a line. Each goes through a costly step (<code>latencyMs</code>) concurrently;
results come back in the order sent, each as soon as everything before it is done.</p>
<textarea id="actions" spellcheck="false"></textarea>
<div>
  <label>Actions <input id="count" type="number" value="20" min="1" max="1000"></label>
  <button id="generate">Generate</button>
  <label>Order <select id="order"><option>total</option><option>key</option><option>none</option></select></label>
  <button id="send">Send</button>
  <span id="status"></span>
</div>
<p id="error" class="fail"></p>
<table>
  <thead><tr><th>line</th><th>key</th><th>type</th><th>result</th><th>finished</th></tr></thead>
  <tbody id="results"></tbody>
</table>
<script>
const $ = (id) => document.getElementById(id)
const run = Math.random().toString(36).slice(2, 8)

$("generate").onclick = () => {
  const n = Number($("count").value)
  const lines = []
  for (let i = 0; i < n; i++) {
    const key = run + "-" + Math.floor(i / 3)
    const latencyMs = Math.floor(Math.random() * 200)
    const action = i % 3 === 0
      ? { key, type: "place", payload: { side: i % 2 ? "buy" : "sell", price: 100 + i, quantity: 1 + i } }
      : i % 3 === 1
      ? { key, type: "update", payload: { quantity: 10 + i } }
      : { key, type: "cancel" }
    lines.push(JSON.stringify({ ...action, latencyMs }))
  }
  $("actions").value = lines.join("\\n")
}

const cell = (row, text, className) => {
  const td = row.insertCell()
  td.textContent = text
  if (className) td.className = className
}

const show = (result) => {
  if (result.line === undefined) {
    // the stream failed after it started: the server ends it with an error line
    $("error").textContent = result.error
    return
  }
  const row = $("results").insertRow()
  row.dataset.line = result.line
  row.dataset.finished = result.finished
  cell(row, String(result.line))
  cell(row, result.key)
  cell(row, result.type)
  if (result.ok) cell(row, "ok: " + JSON.stringify(result.order))
  else cell(row, result.error.message, "fail")
  cell(row, "#" + result.finished)
}

$("send").onclick = async () => {
  $("results").replaceChildren()
  $("error").textContent = ""
  $("status").textContent = "sending…"
  const response = await fetch("/actions?order=" + $("order").value, {
    method: "POST",
    headers: { "content-type": "application/x-ndjson" },
    body: $("actions").value
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
  for (;;) {
    const { done, value } = await reader.read()
    if (done) break
    buffer += value
    const lines = buffer.split("\\n")
    buffer = lines.pop()
    for (const line of lines) if (line) show(JSON.parse(line))
  }
  $("status").textContent = "done: " + $("results").rows.length + " results"
}
</script>
</body>
</html>
`
