#!/usr/bin/env node
// Peer baseline for bench/x12_throughput.py: node-x12's streaming X12Parser over one X12 file.
//
//   node bench/nodex12_parse.js FILE
//
// Prints one JSON line: segments parsed, elapsed seconds (read + parse, not node's start-up), the
// largest process.memoryUsage().rss seen while parsing (rss_max, bytes), the kernel's high-water
// mark of this process's RSS (peak_rss, bytes: VmHWM from /proc/self/status; where there is no
// /proc, process.resourceUsage().maxRSS) and how many diagnostics node-x12 collected.
//
// The streaming API (fs stream piped into X12Parser, one 'data' event per segment) is used rather
// than parse(string): it is the one node-x12 documents for large files, and parse() would have to
// hold the whole file as a string plus its object model. strict is false because in streaming mode
// node-x12 1.7.1 re-checks "ISA is 106 characters" at offset 103 of every chunk, so strict=true
// throws on the second chunk of any valid file; with strict=false it records a diagnostic instead.
'use strict'

const fs = require('fs')
const { X12Parser } = require('node-x12')

const file = process.argv[2]
if (!file) {
  console.error('usage: node nodex12_parse.js FILE')
  process.exit(2)
}

let rssMax = process.memoryUsage().rss
const sample = () => {
  const rss = process.memoryUsage().rss
  if (rss > rssMax) rssMax = rss
}
const timer = setInterval(sample, 50)
const peakRss = () => {
  try {
    const m = /^VmHWM:\s+(\d+) kB/m.exec(fs.readFileSync('/proc/self/status', 'utf8'))
    if (m) return Number(m[1]) * 1024
  } catch (err) {
    // no /proc: fall through to getrusage (whose ru_maxrss on Linux would include the parent's
    // pages inherited at fork, which is why VmHWM comes first)
  }
  return process.resourceUsage().maxRSS * 1024
}
const fail = (err) => {
  clearInterval(timer)
  console.error(err && err.stack ? err.stack : String(err))
  process.exit(1)
}

const t0 = process.hrtime.bigint()
let segments = 0
const parser = new X12Parser(false)
fs.createReadStream(file, { highWaterMark: 1 << 20 })
  .on('error', fail)
  .pipe(parser)
  .on('data', () => {
    segments += 1
    if ((segments & 0xffff) === 0) sample()
  })
  .on('error', fail)
  .on('end', () => {
    const elapsed = Number(process.hrtime.bigint() - t0) / 1e9
    clearInterval(timer)
    sample()
    console.log(JSON.stringify({
      tool: 'node-x12',
      segments,
      elapsed,
      rss_max: rssMax,
      peak_rss: Math.max(peakRss(), rssMax),
      diagnostics: parser.diagnostics.length
    }))
  })
