// The kvp status page: polls /status and draws it. Everything shown is set with
// textContent (error messages come from user handlers), never parsed as HTML.
;(() => {
  'use strict'
  const POLL_MS = 2000
  const LANE_CELLS = 64
  const $ = (id) => document.getElementById(id)

  /** Creates an element with a class and text (as text, never as HTML). */
  function el(tag, className, text) {
    const node = document.createElement(tag)
    if (className) node.className = className
    if (text !== undefined && text !== null) node.textContent = String(text)
    return node
  }

  const fmt = new Intl.NumberFormat('en-US')
  const num = (n) => (n === null || n === undefined ? '–' : fmt.format(Math.round(n)))
  const rate = (n) => (n === null || n === undefined ? '–' : n >= 100 ? fmt.format(Math.round(n)) : n.toFixed(1))
  function seconds(s) {
    if (s === null || s === undefined) return '–'
    if (s < 1) return `${Math.round(s * 1000)} ms`
    if (s < 120) return `${s.toFixed(1)} s`
    if (s < 7200) return `${(s / 60).toFixed(1)} min`
    return `${(s / 3600).toFixed(1)} h`
  }
  const clock = (ms) => new Date(ms).toLocaleTimeString([], { hour12: false })
  const tp = (topic, partition) => `${topic}[${partition}]`

  function badge(node, text, kind) {
    node.textContent = text
    node.className = `badge ${kind}`
  }

  // ---- summary tiles ----
  function tile(label, value, kind) {
    const node = el('div', `tile${kind ? ` ${kind}` : ''}`)
    node.append(el('div', 'label', label), el('div', 'value', value))
    return node
  }

  function renderSummary(s) {
    const maxLagSeconds = s.partitions.reduce((m, p) => Math.max(m, p.lagSeconds), 0)
    const rates = s.history.handledPerSec
    const current = rates.length > 0 ? rates[rates.length - 1] : 0
    const paused = s.partitions.filter((p) => p.paused).length
    const tiles = [
      tile('handled/s', rate(current)),
      tile('handled', num(s.totals.handled)),
      tile('lag (messages)', num(s.totals.lag), s.totals.lag > 0 ? 'warn' : ''),
      tile('max lag (time)', seconds(maxLagSeconds), maxLagSeconds > 60 ? 'bad' : maxLagSeconds > 5 ? 'warn' : ''),
      tile('in flight', num(s.totals.inFlight)),
      tile('partitions', num(s.partitions.length)),
      tile('paused', num(paused), paused > 0 ? 'warn' : ''),
      tile('failures', num(s.totals.failures), s.totals.failures > 0 ? 'bad' : ''),
      tile('dead letters', num(s.totals.deadLettered), s.totals.deadLettered > 0 ? 'bad' : ''),
      tile('skipped (done before)', num(s.totals.skippedDone ?? 0)),
      tile('workers', `${s.workers.alive}/${s.workers.configured}`, s.workers.alive < s.workers.configured ? 'bad' : ''),
      tile('event loop p99', `${s.eventLoopDelayMs.p99} ms`, s.eventLoopDelayMs.p99 > 100 ? 'warn' : ''),
      tile('commits', num(s.totals.commits)),
      tile('generation', num(s.generation)),
    ]
    $('summary').replaceChildren(...tiles)
  }

  function renderHeader(s) {
    $('group').textContent = s.group ? `group ${s.group}` : ''
    badge($('phase'), s.phase, s.phase === 'ready' ? 'ok' : s.phase === 'stopped' ? 'bad' : 'warn')
    badge($('live'), s.liveness.ok ? 'healthz ok' : 'healthz failing', s.liveness.ok ? 'ok' : 'bad')
    badge($('ready'), s.readiness.ok ? 'readyz ok' : 'readyz not ready', s.readiness.ok ? 'ok' : 'warn')
    const problems = [...s.liveness.reasons, ...s.readiness.reasons]
    $('problems').hidden = problems.length === 0
    $('problems').textContent = problems.join(' · ')
    $('updated').textContent = `updated ${clock(s.generatedAt)}`
    $('sampler').textContent = `sampled every ${s.sampler.intervalMs / 1000} s, ${s.sampler.meanMs} ms per sample`
    document.title = `kvp ${s.group ?? ''} · ${s.phase} · lag ${num(s.totals.lag)}`
  }

  // ---- the main chart ----
  let chart
  function renderChart(s) {
    const h = s.history
    const data = [h.t.map((t) => t / 1000), h.handledPerSec, h.lag]
    const width = Math.max(300, $('chart').clientWidth)
    if (!chart) {
      chart = new uPlot(
        {
          width,
          height: 220,
          series: [
            {},
            { label: 'handled/s', stroke: '#2f9e6f', fill: 'rgba(47,158,111,0.12)', width: 2, scale: 'rate' },
            { label: 'lag (messages)', stroke: '#d98a00', width: 2, scale: 'lag' },
          ],
          axes: [{}, { scale: 'rate', label: 'handled/s', size: 60 }, { scale: 'lag', side: 1, label: 'lag', size: 60, grid: { show: false } }],
          scales: { rate: { range: (u, min, max) => [0, Math.max(1, max)] }, lag: { range: (u, min, max) => [0, Math.max(1, max)] } },
          legend: { live: true },
        },
        data,
        $('chart'),
      )
    } else {
      if (Math.abs(chart.width - width) > 20) chart.setSize({ width, height: 220 })
      chart.setData(data)
    }
  }

  // ---- partitions, grouped by topic ----
  const rows = new Map()

  function sparkline(container) {
    return new uPlot(
      {
        width: 160,
        height: 32,
        cursor: { show: false },
        legend: { show: false },
        select: { show: false },
        axes: [{ show: false }, { show: false }],
        scales: { x: { time: false }, y: { range: (u, min, max) => [0, Math.max(1, max)] } },
        series: [{}, { stroke: '#2f9e6f', fill: 'rgba(47,158,111,0.15)', width: 1.5, spanGaps: false }],
      },
      [[], []],
      container,
    )
  }

  function laneStrip(p) {
    const cells = Math.min(p.lanes, LANE_CELLS)
    const per = p.lanes / cells
    // Each cell stands for `per` lanes; cells are coloured busy, retrying, queued, then idle.
    const counts = [
      ['busy', Math.round(p.busyLanes / per)],
      ['retrying', p.retryingLanes > 0 ? Math.max(1, Math.round(p.retryingLanes / per)) : 0],
      ['queued', Math.round(p.queuedLanes / per)],
    ]
    const strip = el('div', 'lanes')
    strip.title = `${p.lanes} lanes: ${p.busyLanes} busy, ${p.queuedLanes} queued, ${p.retryingLanes} retrying`
    let used = 0
    for (const [kind, n] of counts) {
      for (let i = 0; i < n && used < cells; i++, used++) strip.append(el('i', `cell ${kind}`))
    }
    for (; used < cells; used++) strip.append(el('i', 'cell idle'))
    return strip
  }

  function recentFailure(s, p) {
    const since = s.generatedAt - 60_000
    return s.errors.some((e) => e.topic === p.topic && e.partition === p.partition && e.at >= since)
  }

  function buildRow(key) {
    const tr = el('tr')
    const cells = {}
    for (const name of ['partition', 'spark', 'rate', 'lag', 'lagSeconds', 'offsets', 'lanes', 'inFlight', 'state', 'failures', 'deadLettered']) {
      const td = el('td', ['rate', 'lag', 'lagSeconds', 'inFlight', 'failures', 'deadLettered', 'partition'].includes(name) ? 'num' : `col-${name}`)
      cells[name] = td
      tr.append(td)
    }
    const spark = el('div', 'spark')
    cells.spark.append(spark)
    const row = { tr, cells, chart: null, sparkHolder: spark }
    rows.set(key, row)
    return row
  }

  function offsets(p) {
    const box = el('div', 'offsets')
    const part = (k, v) => {
      const span = el('span')
      span.append(el('span', 'k', `${k} `), document.createTextNode(num(v)))
      return span
    }
    box.append(part('high', p.highWatermark), document.createTextNode(' · '), part('watermark', p.watermark), document.createTextNode(' · '), part('committed', p.committed))
    return box
  }

  function renderPartitions(s) {
    const byTopic = new Map()
    for (const p of s.partitions) {
      if (!byTopic.has(p.topic)) byTopic.set(p.topic, [])
      byTopic.get(p.topic).push(p)
    }
    $('partition-count').textContent = `${s.partitions.length} on ${byTopic.size} topic${byTopic.size === 1 ? '' : 's'}`
    $('no-partitions').hidden = s.partitions.length > 0
    const sections = []
    const live = new Set()
    const times = s.history.t.map((t) => t / 1000)
    for (const [topic, list] of byTopic) {
      const section = el('section', 'topic')
      const lag = list.reduce((m, p) => m + (p.lag ?? 0), 0)
      const heading = el('h3', '', topic)
      heading.append(el('small', '', `${list.length} partitions · lag ${num(lag)}`))
      const table = el('table', 'partitions')
      const head = el('tr')
      for (const [name, cls] of [
        ['partition', 'num'],
        ['handled/s, 10 min', ''],
        ['handled/s', 'num'],
        ['lag', 'num'],
        ['lag (time)', 'num'],
        ['offsets', ''],
        ['lanes', ''],
        ['in flight', 'num'],
        ['state', ''],
        ['failures', 'num'],
        ['dead letters', 'num'],
      ])
        head.append(el('th', cls, name))
      const thead = el('thead')
      thead.append(head)
      const tbody = el('tbody')
      table.append(thead, tbody)
      section.append(heading, table)
      for (const p of list) {
        const key = `${p.topic}/${p.partition}`
        live.add(key)
        const row = rows.get(key) ?? buildRow(key)
        const series = s.history.partitions[key]
        const rates = series ? series.handledPerSec : []
        const failing = p.retryingLanes > 0 || recentFailure(s, p)
        row.tr.className = p.paused ? 'paused' : failing ? 'failing' : ''
        row.tr.dataset.partition = key
        row.cells.partition.textContent = String(p.partition)
        row.cells.rate.textContent = rate(rates.length > 0 ? rates[rates.length - 1] : null)
        row.cells.lag.textContent = num(p.lag)
        row.cells.lagSeconds.textContent = seconds(p.lagSeconds)
        row.cells.offsets.replaceChildren(offsets(p))
        const counts = el('div', 'lane-counts', `${p.busyLanes} busy · ${p.queuedLanes} queued · ${p.retryingLanes} retrying · ${p.lanes} lanes`)
        row.cells.lanes.replaceChildren(laneStrip(p), counts)
        row.cells.inFlight.textContent = num(p.inFlight)
        const state = []
        if (p.paused) state.push(el('span', 'tag paused', 'paused'))
        if (failing) state.push(el('span', 'tag failing', 'failing'))
        if (state.length === 0) state.push(el('span', 'tag ok', 'ok'))
        row.cells.state.replaceChildren(...state)
        row.cells.failures.textContent = num(p.failures)
        row.cells.deadLettered.textContent = num(p.deadLettered)
        tbody.append(row.tr)
        row.pending = [times, rates]
      }
      sections.push(section)
    }
    $('topics').replaceChildren(...sections)
    // Charts are drawn once their rows are in the document.
    for (const [key, row] of rows) {
      if (!live.has(key)) {
        row.chart?.destroy()
        rows.delete(key)
        continue
      }
      if (!row.chart) row.chart = sparkline(row.sparkHolder)
      row.chart.setData(row.pending)
    }
  }

  // ---- lists ----
  function renderList(tableId, emptyId, entries, cells) {
    const tbody = $(tableId).tBodies[0]
    const trs = entries
      .slice()
      .reverse()
      .map((entry) => {
        const tr = el('tr')
        for (const [value, cls] of cells(entry)) tr.append(el('td', cls ?? '', value))
        return tr
      })
    tbody.replaceChildren(...trs)
    $(tableId).hidden = trs.length === 0
    $(emptyId).hidden = trs.length > 0
  }

  function renderWorkers(s) {
    const w = s.workers
    const nodes = [el('div', 'lane-counts', `${w.alive} of ${w.configured} threads alive · ${w.slicesInFlight} of ${w.capacity} slice places in use`)]
    for (const t of w.threads) {
      const row = el('div', 'worker')
      const bar = el('div', 'bar')
      const fill = el('i')
      fill.style.width = `${Math.round(t.utilization * 100)}%`
      bar.append(fill)
      row.append(el('span', '', `thread ${t.threadId}`), bar, el('span', 'num', `${Math.round(t.utilization * 100)}%`))
      nodes.push(row)
    }
    $('workers').replaceChildren(...nodes)
  }

  function render(s) {
    renderHeader(s)
    renderSummary(s)
    renderChart(s)
    renderPartitions(s)
    renderList('errors', 'errors-empty', s.errors, (e) => [
      [clock(e.at)],
      [tp(e.topic, e.partition)],
      [num(e.offset), 'num'],
      [e.attempt, 'num'],
      [e.code],
      [e.message, 'msg'],
    ])
    $('faults-panel').hidden = s.faults.length === 0
    renderList('faults', 'faults-empty', s.faults, (f) => [
      [clock(f.since)],
      [f.code],
      [f.topic === undefined ? 'client' : `${tp(f.topic, f.partition ?? '*')}${f.offset === undefined ? '' : ` @ ${num(f.offset)}`}`],
      [f.cause, 'msg'],
      [f.fix, 'msg'],
      [`${f.count}×`, 'num'],
    ])
    renderList('dead-letters', 'dead-letters-empty', s.deadLetters, (d) => [
      [clock(d.at)],
      [tp(d.topic, d.partition)],
      [num(d.offset), 'num'],
      [d.deadLetterTopic ?? '–'],
      [d.code],
      [d.message, 'msg'],
    ])
    renderList('rebalances', 'rebalances-empty', s.rebalances, (r) => [
      [clock(r.at)],
      [r.kind + (r.cooperative ? ' (incremental)' : '')],
      [r.generation, 'num'],
      [r.partitions.length === 0 ? 'none' : r.partitions.map((p) => tp(p.topic, p.partition)).join(', ')],
    ])
    renderWorkers(s)
    document.body.dataset.rendered = String(s.generatedAt)
  }

  async function poll() {
    try {
      const res = await fetch('/status', { cache: 'no-store' })
      if (!res.ok) throw new Error(`/status answered ${res.status}`)
      render(await res.json())
    } catch (error) {
      badge($('phase'), 'unreachable', 'bad')
      $('problems').hidden = false
      $('problems').textContent = `cannot read /status: ${error.message}`
    } finally {
      setTimeout(poll, POLL_MS)
    }
  }
  poll()
})()
