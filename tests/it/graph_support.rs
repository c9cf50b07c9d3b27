//! Running a graph under test: each worker feeds its share of seeded updates epoch by epoch, and every output change is captured.

use std::sync::{Arc, Mutex, mpsc};

use differential_dataflow::VecCollection;
use differential_dataflow::input::Input;
use timely::dataflow::operators::capture::{Capture, Extract};
use trustflow::record::{Transaction, UserEvent};

/// A graph under test: transactions in, changes of `D` out.
pub trait Graph<D>: Send + Sync + 'static {
    /// The graph over `rows`.
    fn build<'s>(&self, rows: VecCollection<'s, u64, Transaction>) -> VecCollection<'s, u64, D>;
}

/// A graph under test over transactions and user events, changes of `D` out.
pub trait EventGraph<D>: Send + Sync + 'static {
    /// The graph over `rows` and `events`.
    fn build<'s>(
        &self,
        rows: VecCollection<'s, u64, Transaction>,
        events: VecCollection<'s, u64, UserEvent>,
    ) -> VecCollection<'s, u64, D>;
}

/// A transactions-only graph, with the user events left unused.
struct RowsOnly<G>(G);

impl<D, G: Graph<D>> EventGraph<D> for RowsOnly<G> {
    fn build<'s>(
        &self,
        rows: VecCollection<'s, u64, Transaction>,
        _events: VecCollection<'s, u64, UserEvent>,
    ) -> VecCollection<'s, u64, D> {
        self.0.build(rows)
    }
}

/// Feeds `updates` to the dataflow `graph` builds on `workers` threads, epoch by epoch, and
/// returns every output change.
pub fn run<D, G>(
    updates: &[(Transaction, u64, isize)],
    epochs: u64,
    workers: usize,
    graph: G,
) -> Vec<(D, u64, isize)>
where
    D: differential_dataflow::Data + Send,
    G: Graph<D>,
{
    run_with_events(updates, &[], epochs, workers, RowsOnly(graph))
}

/// As [`run`], with user-event updates `events` fed beside the transactions (each worker
/// takes its share of both, epoch by epoch).
pub fn run_with_events<D, G>(
    updates: &[(Transaction, u64, isize)],
    events: &[(UserEvent, u64, isize)],
    epochs: u64,
    workers: usize,
    graph: G,
) -> Vec<(D, u64, isize)>
where
    D: differential_dataflow::Data + Send,
    G: EventGraph<D>,
{
    let (send, recv) = mpsc::channel();
    let send = Arc::new(Mutex::new(send));
    let updates = Arc::new(updates.to_vec());
    let events = Arc::new(events.to_vec());
    let graph = Arc::new(graph);
    timely::execute(timely::Config::process(workers), move |worker| {
        let send = send.lock().unwrap().clone();
        let graph = graph.clone();
        let (index, peers) = (worker.index(), worker.peers());
        let (mut input, mut event_input) = worker.dataflow::<u64, _, _>(|scope| {
            let (input, rows) = scope.new_collection::<Transaction, isize>();
            let (event_input, user_events) = scope.new_collection::<UserEvent, isize>();
            graph.build(rows, user_events).inner.capture_into(send);
            (input, event_input)
        });
        for epoch in 0..epochs {
            input.advance_to(epoch);
            event_input.advance_to(epoch);
            let mine = updates.iter().enumerate().filter(|(k, (_, t, _))| k % peers == index && *t == epoch);
            for (_, (row, _, diff)) in mine {
                input.update(row.clone(), *diff);
            }
            let mine = events.iter().enumerate().filter(|(k, (_, t, _))| k % peers == index && *t == epoch);
            for (_, (event, _, diff)) in mine {
                event_input.update(event.clone(), *diff);
            }
        }
    })
    .unwrap();
    recv.extract().into_iter().flat_map(|(_, batch)| batch).collect()
}
