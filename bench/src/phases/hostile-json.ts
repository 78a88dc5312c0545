import { randomUUID } from 'node:crypto';
import { Agent } from 'node:http';
import { http } from '../lib/http-client';
import { sampleProcess } from '../lib/proc-stats';
import { round, percentile } from '../lib/stats';
import type { BenchContext, WithApi } from './context';

/** Bodies of about 60 kB (the API takes 64 kB): `{"password":[[[…]]]}` nested ~30,000 deep. */
function nestedBody(bytes = 60_000): string {
  const depth = Math.floor((bytes - '{"password":}'.length) / 2);
  return `{"password":${'['.repeat(depth)}${']'.repeat(depth)}}`;
}

/**
 * Phase 8: hostile JSON. 2,000 deeply nested 60 kB bodies, 50 at a time, half to the login
 * route (no session needed) and half to `PATCH /connections/:id` with the admin's session,
 * while `GET /health/live` is called one after another on a connection of its own. Before the
 * depth limit each body overflowed the validation pipe's stack: a 500, two stack traces, and a
 * median liveness of about 4 s. Figures: the answers by status, liveness p50/p99/max under the
 * load (goal p99 < 50 ms) and idle before it, RSS before and after.
 */
export async function hostileJsonPhase(
  ctx: BenchContext,
  { api, sessionCookie }: WithApi,
): Promise<void> {
  const phase = '8 hostile JSON';
  const total = Number(process.env.BENCH_HOSTILE_BODIES) || 2_000;
  const concurrency = 50;
  const body = nestedBody();
  const agent = new Agent({ keepAlive: true, maxSockets: concurrency });
  const probeAgent = new Agent({ keepAlive: true, maxSockets: 1 });
  const live = `${api.url}/health/live`;

  const probe = async (until: () => boolean): Promise<number[]> => {
    const latencies: number[] = [];
    while (!until()) {
      const began = performance.now();
      const answer = await http(live, { agent: probeAgent, timeoutMs: 30_000 });
      latencies.push(performance.now() - began);
      if (answer.status !== 200)
        throw new Error(
          `/health/live answered ${answer.status} under the load`,
        );
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    return latencies;
  };

  const idleEnd = performance.now() + 2_000;
  const idle = await probe(() => performance.now() > idleEnd);
  const rssBefore = (await api.sample())?.rssBytes ?? Number.NaN;

  const statuses = new Map<number, number>();
  let sent = 0;
  let done = false;
  const cpuBefore = sampleProcess(api.pid)?.cpuSeconds ?? Number.NaN;
  const began = performance.now();
  const sender = async () => {
    while (sent < total) {
      const index = sent;
      sent += 1;
      const toLogin = index % 2 === 0;
      const answer = await http(
        toLogin
          ? `${api.url}/api/v1/session`
          : `${api.url}/api/v1/connections/${randomUUID()}`,
        {
          method: toLogin ? 'POST' : 'PATCH',
          headers: {
            'content-type': 'application/json',
            ...(toLogin ? {} : { cookie: sessionCookie }),
          },
          body,
          agent,
          timeoutMs: 60_000,
        },
      );
      statuses.set(answer.status, (statuses.get(answer.status) ?? 0) + 1);
    }
  };
  const probing = probe(() => done);
  await Promise.all(Array.from({ length: concurrency }, sender)).finally(() => {
    done = true;
  });
  const seconds = (performance.now() - began) / 1000;
  // API CPU per body: what the load costs, whatever else shares the machine.
  const cpuMsPerBody =
    (((sampleProcess(api.pid)?.cpuSeconds ?? Number.NaN) - cpuBefore) * 1000) /
    total;
  const underLoad = await probing;
  const rssAfter = (await api.sample())?.rssBytes ?? Number.NaN;
  agent.destroy();
  probeAgent.destroy();

  const MB = 1024 ** 2;
  const answers = [...statuses.entries()]
    .sort(([a], [b]) => a - b)
    .map(([status, count]) => `${status}×${count}`)
    .join(' ');
  const failed = [...statuses.entries()]
    .filter(([status]) => status !== 400)
    .reduce((sum, [, count]) => sum + count, 0);
  ctx.raw.hostileJson = {
    bodies: total,
    bodyBytes: body.length,
    concurrency,
    seconds: round(seconds, 2),
    statuses: Object.fromEntries(statuses),
    liveIdleMs: {
      p50: round(percentile(idle, 50), 2),
      p99: round(percentile(idle, 99), 2),
      n: idle.length,
    },
    liveUnderLoadMs: {
      p50: round(percentile(underLoad, 50), 2),
      p99: round(percentile(underLoad, 99), 2),
      max: round(Math.max(...underLoad), 2),
      n: underLoad.length,
    },
    apiCpuMsPerBody: round(cpuMsPerBody, 2),
    rssMb: { before: round(rssBefore / MB, 1), after: round(rssAfter / MB, 1) },
  };
  ctx.report.add({
    phase,
    metric: `${total} nested bodies of ${Math.round(body.length / 1000)} kB, ${concurrency} at a time: answers`,
    ours: answers,
  });
  ctx.report.goal(
    { phase, metric: 'answers other than 400', ours: failed },
    '0',
    (value) => value === 0,
  );
  ctx.report.add({
    phase,
    metric: 'bodies/s',
    ours: round(total / seconds, 0),
  });
  ctx.report.add({
    phase,
    metric: 'API CPU per body ms (liveness probes included)',
    ours: round(cpuMsPerBody, 2),
  });
  ctx.report.add({
    phase,
    metric: '/health/live idle p50 / p99 ms',
    ours: `${round(percentile(idle, 50), 1)} / ${round(percentile(idle, 99), 1)}`,
  });
  ctx.report.add({
    phase,
    metric: '/health/live under the load p50 ms',
    ours: round(percentile(underLoad, 50), 1),
  });
  ctx.report.goal(
    {
      phase,
      metric: `/health/live under the load p99 ms (max ${round(Math.max(...underLoad), 1)}, ${underLoad.length} probes)`,
      ours: round(percentile(underLoad, 99), 1),
    },
    '< 50 ms',
    (value) => value < 50,
  );
  ctx.report.add({
    phase,
    metric: 'API RSS before / after MB',
    ours: `${round(rssBefore / MB, 1)} / ${round(rssAfter / MB, 1)}`,
  });
}
