//! Tasks that yield while the reactor has waiters (a server's timers and
//! sockets always do): the M holding the P looks at the reactor once per
//! round of yielders, not before every yield, which would cost an
//! `epoll_wait` each. Alone in its test binary, so that no other runtime's
//! M is blocked in the process-wide reactor (the M skips its poll then).

use std::time::Duration;

use gmp_executor::{spawn, yield_now, Runtime};
use gmp_reactor::time::sleep;

/// Tasks that yield.
const YIELDERS: u64 = 50;
/// Yields of each.
const YIELDS: u64 = 200;

#[test]
fn yielders_make_the_m_poll_the_reactor_once_per_round_not_per_yield() {
    // One M: none of this runtime's Ms waits in the reactor either.
    let rt = Runtime::builder()
        .max_procs(1)
        .max_threads(1)
        .build()
        .unwrap();
    rt.block_on(async {
        // A timer armed throughout.
        let sleeper = spawn(sleep(Duration::from_secs(3600)));
        let tasks: Vec<_> = (0..YIELDERS)
            .map(|_| {
                spawn(async {
                    for _ in 0..YIELDS {
                        yield_now().await;
                    }
                })
            })
            .collect();
        for task in tasks {
            task.await.unwrap();
        }
        sleeper.abort();
    });
    let polls = rt.metrics().proc(0).reactor_polls();
    let yields = YIELDERS * YIELDS;
    assert!(
        polls >= 1,
        "a timer was armed and nobody else was in the reactor, yet the M never polled it"
    );
    // About one poll per round of 50 plus one per 61 ticks: ~360.
    assert!(
        polls <= yields / 10,
        "{polls} reactor polls for {yields} yields: the M polls before every yield"
    );
}
