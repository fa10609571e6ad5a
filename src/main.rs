fn main() {
    std::process::exit(mlscore::run());
}
