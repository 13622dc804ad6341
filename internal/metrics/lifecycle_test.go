package metrics

import (
	"errors"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/talis-operator/talis-operator/pkg/talis"
)

func TestCreateResults(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want string
	}{
		{nil, CreateCreated},
		{&talis.APIError{StatusCode: 400}, CreateFailed},
		{&talis.APIError{StatusCode: 502}, CreateAmbiguous},
		{talis.ErrDeadlinePassed, CreateNotSent},
		{errors.New("a result that matches no request"), CreateAmbiguous},
	} {
		before := testutil.ToFloat64(InstanceCreates.WithLabelValues(tc.want))
		CountCreate(3, tc.err)
		if got := testutil.ToFloat64(InstanceCreates.WithLabelValues(tc.want)) - before; got != 3 {
			t.Errorf("create ending in %v: %s grew by %v, want 3", tc.err, tc.want, got)
		}
	}
}

func TestKnownLabelValuesExistBeforeTheFirstEvent(t *testing.T) {
	if n := testutil.CollectAndCount(InstanceCreates); n != 4 {
		t.Errorf("%d create series, want one per result", n)
	}
	if n := testutil.CollectAndCount(Adoptions); n != 2 {
		t.Errorf("%d adoption series, want one per kind", n)
	}
	if n := testutil.CollectAndCount(DeletionDuration); n != 2 {
		t.Errorf("%d deletion series, want one per kind", n)
	}
}
