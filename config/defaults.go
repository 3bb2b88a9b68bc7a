package config

import "time"

// Built-in defaults, the only place they are written down. They follow
// HAProxy where HAProxy has a documented default.
const (
	DefaultGlobalMaxConn   = 20000
	DefaultMode            = ModeHTTP
	DefaultBalance         = AlgoRoundRobin
	DefaultRetries         = 3
	DefaultWeight          = 1
	MaxWeight              = 256
	DefaultTimeoutConnect  = Duration(5 * time.Second)
	DefaultTimeoutClient   = Duration(50 * time.Second)
	DefaultTimeoutServer   = Duration(50 * time.Second)
	DefaultInter           = Duration(2 * time.Second)
	DefaultRise            = 2
	DefaultFall            = 3
	DefaultCheckMethod     = "OPTIONS"
	DefaultCheckPath       = "/"
	DefaultCheckVersion    = "HTTP/1.0"
	DefaultStickExpire     = Duration(30 * time.Minute)
	DefaultVIPPreemptDelay = Duration(0)
)

// Resolve returns a deep copy of c in which every inherited or defaulted
// field is concrete: modes, algorithms, timeouts, retries, check timing,
// weights and cookie values. Consumers (balancer, health, vip) read only
// resolved configs. Resolve does not validate; call Validate first.
func (c *Cluster) Resolve() *Cluster {
	r := c.Clone()
	if r.Global.MaxConn == 0 {
		r.Global.MaxConn = DefaultGlobalMaxConn
	}
	d := &r.Defaults
	d.Mode = pick(d.Mode, DefaultMode)
	d.Balance = pick(d.Balance, DefaultBalance)
	d.MaxConn = pick(d.MaxConn, r.Global.MaxConn)
	d.Retries = pickPtr(d.Retries, DefaultRetries)
	d.Redispatch = pickPtr(d.Redispatch, false)
	d.ForwardFor = pickPtr(d.ForwardFor, false)
	t := &d.Timeouts
	t.Connect = pick(t.Connect, DefaultTimeoutConnect)
	t.Client = pick(t.Client, DefaultTimeoutClient)
	t.Server = pick(t.Server, DefaultTimeoutServer)
	t.HTTPRequest = pick(t.HTTPRequest, t.Client)
	t.HTTPKeepAlive = pick(t.HTTPKeepAlive, t.HTTPRequest)
	t.Queue = pick(t.Queue, t.Connect)
	t.Tunnel = pick(t.Tunnel, max(t.Client, t.Server))
	d.Check = d.Check.inherit(CheckTiming{Inter: DefaultInter, Rise: DefaultRise, Fall: DefaultFall})

	for i := range r.Frontends {
		f := &r.Frontends[i]
		f.Mode = pick(f.Mode, d.Mode)
		f.MaxConn = pick(f.MaxConn, d.MaxConn)
		f.ForwardFor = pickPtr(f.ForwardFor, *d.ForwardFor)
		f.Timeouts = f.Timeouts.Inherit(d.Timeouts)
	}
	for i := range r.Backends {
		resolveBackend(&r.Backends[i], d)
	}
	for i := range r.VIPs {
		r.VIPs[i].Preempt = pickPtr(r.VIPs[i].Preempt, true)
	}
	resolveLogging(r)
	return r
}

func resolveBackend(b *Backend, d *Defaults) {
	b.Mode = pick(b.Mode, d.Mode)
	b.Balance = pick(b.Balance, d.Balance)
	b.Retries = pickPtr(b.Retries, *d.Retries)
	b.Redispatch = pickPtr(b.Redispatch, *d.Redispatch)
	b.RetryIdempotent = pickPtr(b.RetryIdempotent, true)
	b.ForwardFor = pickPtr(b.ForwardFor, *d.ForwardFor)
	b.Timeouts = b.Timeouts.Inherit(d.Timeouts)
	if b.StickSource {
		b.StickExpire = pick(b.StickExpire, DefaultStickExpire)
	}
	timing := d.Check
	if hc := b.HealthCheck; hc != nil {
		if hc.Type == CheckUnset {
			hc.Type = CheckTCP
			if hc.Path != "" || hc.Method != "" || b.Mode == ModeHTTP {
				hc.Type = CheckHTTP
			}
		}
		if hc.Type == CheckHTTP {
			hc.Method = pick(hc.Method, DefaultCheckMethod)
			hc.Path = pick(hc.Path, DefaultCheckPath)
			hc.Version = pick(hc.Version, DefaultCheckVersion)
		}
		hc.CheckTiming = hc.CheckTiming.inherit(timing)
		timing = hc.CheckTiming
	}
	for j := range b.Servers {
		s := &b.Servers[j]
		s.Weight = pickPtr(s.Weight, DefaultWeight)
		s.Cookie = pick(s.Cookie, s.Name)
		s.CheckTiming = serverTiming(s.CheckTiming, timing)
		s.ServerCheck.resolve()
	}
}

// inherit fills the zero fields of t from parent. FastInter and DownInter
// are inherited only when set explicitly above; otherwise the server's own
// Inter is their default (see serverTiming), as in HAProxy.
func (t CheckTiming) inherit(parent CheckTiming) CheckTiming {
	t.Inter = pick(t.Inter, parent.Inter)
	t.Rise = pick(t.Rise, parent.Rise)
	t.Fall = pick(t.Fall, parent.Fall)
	t.FastInter = pick(t.FastInter, parent.FastInter)
	t.DownInter = pick(t.DownInter, parent.DownInter)
	return t
}

// serverTiming is a server's final check timing: inherited values, then
// fastinter and downinter defaulting to the server's inter.
func serverTiming(own, parent CheckTiming) CheckTiming {
	t := own.inherit(parent)
	t.FastInter = pick(t.FastInter, t.Inter)
	t.DownInter = pick(t.DownInter, t.Inter)
	return t
}

// Inherit fills the unset (zero) timeouts of t from p.
func (t Timeouts) Inherit(p Timeouts) Timeouts {
	t.Connect = pick(t.Connect, p.Connect)
	t.Client = pick(t.Client, p.Client)
	t.Server = pick(t.Server, p.Server)
	t.HTTPRequest = pick(t.HTTPRequest, p.HTTPRequest)
	t.HTTPKeepAlive = pick(t.HTTPKeepAlive, p.HTTPKeepAlive)
	t.Queue = pick(t.Queue, p.Queue)
	t.Check = pick(t.Check, p.Check)
	t.Tunnel = pick(t.Tunnel, p.Tunnel)
	return t
}

func pick[T comparable](v, def T) T {
	var zero T
	if v == zero {
		return def
	}
	return v
}

func pickPtr[T any](v *T, def T) *T {
	if v != nil {
		c := *v
		return &c
	}
	return &def
}
