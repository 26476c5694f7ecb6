import { describe, expect, it } from 'vitest';
import { labelNames, legendLabels, metricNames, tokenize } from './promql-names.ts';

describe('metricNames', () => {
  it('finds a bare metric and one with label matchers', () => {
    expect(metricNames('up')).toEqual(['up']);
    expect(metricNames('up{job="catalog", instance=~"127.0.0.1:.*"} == 0')).toEqual(['up']);
  });

  it('skips function and aggregation names, range and subquery brackets', () => {
    expect(
      metricNames('histogram_quantile(0.99, sum by (service, le) (rate(http_bucket{a="b"}[5m])))'),
    ).toEqual(['http_bucket']);
    expect(metricNames('max_over_time(rate(x_total[1m])[10m:30s])')).toEqual(['x_total']);
    expect(metricNames('sum without (instance, job) (x) / ignoring (kind) group_left (team) y')).toEqual([
      'x',
      'y',
    ]);
    expect(metricNames('sum(rate(a_total[5m])) by (route) > bool 0.1')).toEqual(['a_total']);
    expect(metricNames('topk(3, count_values("v", build_info))')).toEqual(['build_info']);
  });

  it('does not mistake label names in grouping or matching lists for metrics', () => {
    expect(metricNames('a * on (service, upstream) group_right (route) b')).toEqual(['a', 'b']);
    expect(metricNames('a unless on (service) b > 0')).toEqual(['a', 'b']);
    expect(metricNames('SUM BY (stream) (lag)')).toEqual(['lag']);
  });

  it('handles keywords, numbers, durations, offsets, @ and comments', () => {
    expect(metricNames('a > (14.4 * 0.005) and b offset 1h30m or c @ end() unless d @ 1700000000')).toEqual([
      'a',
      'b',
      'c',
      'd',
    ]);
    expect(metricNames('x > Inf or y < -NaN or z > 0x1F or w > 1e-3 or v > 1_000')).toEqual([
      'v',
      'w',
      'x',
      'y',
      'z',
    ]);
    expect(metricNames('# a comment naming not_a_metric\nvalue_total')).toEqual(['value_total']);
    expect(metricNames('atan2(a, b)')).toEqual(['a', 'b']);
    expect(metricNames('a atan2 b')).toEqual(['a', 'b']);
  });

  it('keeps recording-rule names with colons', () => {
    expect(
      metricNames('service:errors:ratio_rate1h > (14.4 * 0.005) and service:errors:ratio_rate5m > 0.072'),
    ).toEqual(['service:errors:ratio_rate1h', 'service:errors:ratio_rate5m']);
  });

  it('reads __name__ equality matchers and ignores strings that look like metrics', () => {
    expect(metricNames('{__name__="bw_stream_lag", stream="orders"}')).toEqual(['bw_stream_lag']);
    expect(metricNames('{__name__=~"bw_.*"}')).toEqual([]);
    expect(metricNames('label_replace(up, "dst", "$1", "src", "(fake_metric).*")')).toEqual(['up']);
    expect(metricNames("count_values('not_a_metric', up)")).toEqual(['up']);
    expect(metricNames('x{route="/api/\\"quoted\\" {braces} [brackets]"}')).toEqual(['x']);
  });

  it('treats Grafana macros and template variables as values', () => {
    expect(
      metricNames('sum by (service) (rate(reqs_total{service=~"$service"}[$__rate_interval])) * $factor'),
    ).toEqual(['reqs_total']);
    const braced = (name: string) => `$${'{'}${name}}`; // Grafana's ${name} form
    expect(
      metricNames(`rate(reqs_total[${braced('__interval')}]) / ${braced('scale')} + [[legacy]]`),
    ).toEqual(['reqs_total']);
  });

  it('rejects unbalanced input rather than guessing', () => {
    expect(() => metricNames('sum(rate(x[5m])')).not.toThrow(); // unclosed ( is not tracked
    expect(() => metricNames('x{a="b"')).toThrow(SyntaxError);
    expect(() => metricNames('x{a="b}')).toThrow(SyntaxError);
  });

  it('tokenizes operators as single tokens', () => {
    expect(tokenize('a =~ b != c >= d').filter((t) => t.kind === 'punct')).toEqual([
      { kind: 'punct', text: '=~' },
      { kind: 'punct', text: '!=' },
      { kind: 'punct', text: '>=' },
    ]);
  });
});

describe('labelNames', () => {
  it('finds labels in matchers and in grouping and matching lists', () => {
    expect(
      labelNames(
        'sum by (service, le) (rate(x_bucket{route=~"$route", status_class!="5xx", __name__="x_bucket"}[5m])) / on (service) group_left (team) y',
      ),
    ).toEqual(['le', 'route', 'service', 'status_class', 'team']);
    expect(labelNames('sum without (instance) (x) and ignoring (kind) y{a!~"b"}')).toEqual([
      'a',
      'instance',
      'kind',
    ]);
  });

  it('ignores metric names, function names, strings and durations', () => {
    expect(labelNames('histogram_quantile(0.99, rate(x[5m] offset 1h))')).toEqual([]);
    expect(labelNames('label_replace(up, "dst", "$1", "src", "(.*)")')).toEqual([]);
  });
});

describe('legendLabels', () => {
  it('reads {{label}} references, with or without spaces', () => {
    expect(legendLabels('{{service}} → {{ upstream }}: {{outcome}} {{service}}')).toEqual([
      'outcome',
      'service',
      'upstream',
    ]);
    expect(legendLabels('__auto')).toEqual([]);
  });
});
