// What a flag's JSON (the admin API's view) says, in a few words.

const ROLLOUT_STRATEGIES = ['flexibleRollout', 'gradualRolloutUserId', 'gradualRolloutSessionId', 'gradualRolloutRandom'];

function strategies(flag) {
  const u = flag.unleash || {};
  return Array.isArray(u.strategies) ? u.strategies : [];
}

function rolloutOf(s) {
  const p = s.parameters || {};
  const raw = p.rollout !== undefined ? p.rollout : p.percentage;
  const n = Number(raw);
  return Number.isFinite(n) ? n : null;
}

// The percentages of the flag's rollout rules (usually one).
export function rollouts(flag) {
  return strategies(flag)
    .filter((s) => ROLLOUT_STRATEGIES.includes(s.name))
    .map(rolloutOf)
    .filter((n) => n !== null);
}

// `killed` (off for everyone), `off` (on, but every rule is at 0%), `on`.
export function state(flag) {
  if (!flag.enabled) return 'killed';
  const all = strategies(flag);
  if (all.length > 0 && all.every((s) => ROLLOUT_STRATEGIES.includes(s.name) && rolloutOf(s) === 0)) return 'off';
  return 'on';
}

export function rolloutText(flag) {
  const r = rollouts(flag);
  if (r.length === 0) return strategies(flag).some((s) => s.name === 'default') || strategies(flag).length === 0 ? '100%' : '–';
  return [...new Set(r)].map((n) => n + '%').join(', ');
}

export function users(flag) {
  const ids = [];
  for (const s of strategies(flag)) {
    if (s.name !== 'userWithId') continue;
    const list = (s.parameters || {}).userIds || '';
    for (const id of String(list).split(',')) if (id.trim()) ids.push(id.trim());
  }
  return ids;
}

function one(s) {
  const p = s.parameters || {};
  let text;
  switch (s.name) {
    case 'default': text = 'everyone'; break;
    case 'flexibleRollout': text = rolloutOf(s) + '% by ' + (p.stickiness || 'default'); break;
    case 'gradualRolloutUserId': text = rolloutOf(s) + '% of users'; break;
    case 'gradualRolloutSessionId': text = rolloutOf(s) + '% of sessions'; break;
    case 'gradualRolloutRandom': text = rolloutOf(s) + '% at random'; break;
    case 'userWithId': {
      const n = String(p.userIds || '').split(',').filter((x) => x.trim()).length;
      text = n + (n === 1 ? ' user' : ' users');
      break;
    }
    case 'remoteAddress': text = 'by IP'; break;
    case 'applicationHostname': text = 'by host'; break;
    default: text = s.name;
  }
  const c = (s.constraints || []).length;
  if (c) text += ' if ' + c + (c === 1 ? ' condition' : ' conditions');
  const g = (s.segments || []).length;
  if (g) text += ' in ' + g + (g === 1 ? ' segment' : ' segments');
  return text;
}

export function strategyText(flag) {
  const all = strategies(flag);
  if (all.length === 0) return 'everyone';
  return all.map(one).join('; ');
}

// `blue 50%, green 30%` (Unleash weights are out of 1000).
export function variantsText(flag) {
  const out = [];
  const add = (list) => {
    for (const v of list || []) out.push(v.name + (v.weight !== undefined ? ' ' + v.weight / 10 + '%' : ''));
  };
  add((flag.unleash || {}).variants);
  for (const s of strategies(flag)) add(s.variants);
  return out.join(', ');
}

// The live counters per arm, in a stable order (`on` before `off`).
export function arms(flag) {
  const counters = flag.counters || {};
  const order = (a) => (a === 'on' ? 0 : a === 'off' ? 2 : 1);
  return Object.keys(counters)
    .sort((a, b) => order(a) - order(b) || a.localeCompare(b))
    .map((arm) => Object.assign({ arm }, counters[arm]));
}

// The guard's entry for a flag, from `GET /_guard` (or null).
export function guardOf(guard, name) {
  if (!guard || !Array.isArray(guard.flags)) return null;
  return guard.flags.find((f) => f.flag === name) || null;
}

export function planText(plan) {
  if (!plan) return '';
  const steps = plan.steps || [];
  const at = plan.step !== undefined ? 'step ' + (plan.step + 1) + '/' + steps.length : '';
  return [at, plan.percent !== undefined ? plan.percent + '%' : '', plan.status].filter(Boolean).join(' · ');
}
