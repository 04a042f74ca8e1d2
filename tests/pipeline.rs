//! Specs flow through the pipeline as data: a point of a search space decodes to a
//! spec, the spec is counted, scaled into a family, and read back from JSON, and
//! every step agrees with the others.

use effnas::space::spaces::builtin_space;
use effnas::space::{ArchSpec, ChoiceSpace, analyze, estimate_training_memory, family};
use rand::SeedableRng;
use rand::rngs::StdRng;

#[test]
fn sampled_candidates_scale_into_valid_families() {
    let space = builtin_space("paper").unwrap();
    let mut rng = StdRng::seed_from_u64(42);
    for _ in 0..25 {
        let choices = space.sample(&mut rng);
        let base = space.decode(&choices).unwrap();
        let members = family(&base).unwrap();
        let mut previous_params = 0;
        for member in &members {
            let spec = &member.spec;
            let analysis = analyze(spec, spec.eval_size).unwrap();
            assert_eq!(analysis.params, spec.param_count());
            // Each member is bigger than the one before.
            assert!(analysis.params > previous_params, "{}", spec.name);
            previous_params = analysis.params;
            assert!(spec.eval_size <= 480);
            let memory = estimate_training_memory(spec, 8, spec.train_size).unwrap();
            assert!(memory.total > memory.parameters);
            // Through JSON and back, the same network.
            assert_eq!(ArchSpec::from_json(&spec.to_json()).unwrap(), *spec);
        }
        // The base is still the point it came from.
        assert_eq!(
            space
                .decode(&space.encode(&members[0].spec).unwrap())
                .unwrap(),
            base
        );
    }
}
