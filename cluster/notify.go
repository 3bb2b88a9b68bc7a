package cluster

import "sync"

// subscribers is the set of Subscribe channels.
type subscribers struct {
	mu   sync.Mutex
	next int
	m    map[int]chan struct{}
}

func (s *subscribers) add() (<-chan struct{}, func()) {
	ch := make(chan struct{}, 1)
	s.mu.Lock()
	if s.m == nil {
		s.m = make(map[int]chan struct{})
	}
	id := s.next
	s.next++
	s.m[id] = ch
	s.mu.Unlock()
	return ch, func() {
		s.mu.Lock()
		delete(s.m, id)
		s.mu.Unlock()
	}
}

func (s *subscribers) notify() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, ch := range s.m {
		select {
		case ch <- struct{}{}:
		default:
		}
	}
}

// broadcaster wakes every waiter once per notify.
type broadcaster struct {
	mu sync.Mutex
	ch chan struct{}
}

// wait returns a channel closed at the next notify.
func (b *broadcaster) wait() <-chan struct{} {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.ch == nil {
		b.ch = make(chan struct{})
	}
	return b.ch
}

func (b *broadcaster) notify() {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.ch != nil {
		close(b.ch)
		b.ch = nil
	}
}
