// Mistake (or attack): implementing the hidden erased trait `#[dyn_trait]` generates by
// hand, for a type that does not implement the trait, so that the `dyn` form's output
// borrows an argument its `impl Trait + 'static` promises it does not (a use after free,
// in safe code, when the erased output was of the call's lifetime and the `dyn` form
// unnamed it). The erased trait's output carries the bound now: such an impl does not
// compile, and a box that borrows the argument is refused at the impl. (Nor could such a
// type be made into the `dyn` form: its constructors take implementors of the trait only.)
use std::fmt::Display;
use valuetask::dyn_trait;

#[dyn_trait(DynShow = dyn Show)]
trait Show {
    fn show(&self, key: &str) -> impl Display + 'static;
}

struct Evil;

impl __ErasedShow for Evil {
    fn __dyn_show<'life0, 'life1, 'value_task>(
        &'life0 self,
        key: &'life1 str,
    ) -> Box<dyn Display + 'static>
    where
        'life0: 'value_task,
        'life1: 'value_task,
        Self: 'value_task,
    {
        Box::new(key)
    }
}

fn main() {
    let shown = {
        let s = String::from("freed");
        Evil.__dyn_show(&s)
    };
    println!("{shown}");
}
