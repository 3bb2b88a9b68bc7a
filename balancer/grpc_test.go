package balancer

import (
	"context"
	"net"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/tandem-lb/tandem/config"
)

// rawCodec carries []byte messages as they are: a gRPC service without
// generated code.
type rawCodec struct{}

func (rawCodec) Marshal(v any) ([]byte, error) { return *(v.(*[]byte)), nil }
func (rawCodec) Unmarshal(b []byte, v any) error {
	*(v.(*[]byte)) = append([]byte(nil), b...)
	return nil
}
func (rawCodec) Name() string { return "raw" }

// whoServer is a gRPC server whose /test.Who/Am method answers its name.
func whoServer(t *testing.T, name string) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := grpc.NewServer(grpc.ForceServerCodec(rawCodec{}))
	s.RegisterService(&grpc.ServiceDesc{
		ServiceName: "test.Who",
		HandlerType: (*any)(nil),
		Methods: []grpc.MethodDesc{{MethodName: "Am", Handler: func(_ any, ctx context.Context, dec func(any) error, _ grpc.UnaryServerInterceptor) (any, error) {
			var in []byte
			if err := dec(&in); err != nil {
				return nil, err
			}
			out := []byte(name + ":" + string(in))
			return &out, nil
		}}},
	}, struct{}{})
	go s.Serve(ln)
	t.Cleanup(s.Stop)
	return ln.Addr().String()
}

// gRPC behind tandem with proto h2: the unary calls of one client
// connection are spread over two servers, call by call, as HAProxy's h2
// mux does (an HTTP/1-style connection balancer would pin them to one).
func TestGRPCCallsBalancedPerCall(t *testing.T) {
	a, b := srv("a", whoServer(t, "a")), srv("b", whoServer(t, "b"))
	a.Proto, b.Proto = "h2", "h2"
	c := cluster(a, b)
	c.Frontends[0].Mode, c.Backends[0].Mode = config.ModeHTTP, config.ModeHTTP
	e := start(t, c)
	conn, err := grpc.NewClient(e.addr("fe"), grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithDefaultCallOptions(grpc.ForceCodec(rawCodec{})))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	seen := map[string]int{}
	for range 20 {
		in, out := []byte("hi"), []byte(nil)
		if err := conn.Invoke(ctx, "/test.Who/Am", &in, &out); err != nil {
			t.Fatalf("call: %v", err)
		}
		seen[string(out)]++
	}
	if seen["a:hi"] != 10 || seen["b:hi"] != 10 {
		t.Errorf("answers %v, want 10 from each server (round robin per call)", seen)
	}
}
