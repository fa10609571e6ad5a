// polars allocates and frees a buffer per column per batch; glibc's malloc
// hands large ones back to the kernel each time, so every batch paid for
// fresh zeroed pages. mimalloc keeps them (see README, Performance).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    mlscore::allocator::tune();
    std::process::exit(mlscore::run());
}
